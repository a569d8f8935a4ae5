"""A real, single-node Apache Kafka 4.x broker for the test suite, plus its pytest fixtures.

Why a real broker: the connectors speak to Kafka through librdkafka (confluent-kafka), whose
behaviour around rebalances, offsets, headers and broker outages is exactly what the tests
must pin down; a mock would only restate our assumptions. There is no Docker engine here, so
the broker runs as a plain JVM process from jars that Maven resolves (``tests/kafka/pom.xml``).

How it works:

1. :func:`resolve_classpath` runs ``mvn dependency:build-classpath`` once and caches the
   result in ``.kafka/classpath-<pom hash>.txt`` (git-ignored); later runs skip Maven while
   that file and every jar it names exist.
2. :class:`KafkaBroker` writes a KRaft ``server.properties`` (combined broker+controller,
   node 1, PLAINTEXT and CONTROLLER listeners on free 127.0.0.1 ports), formats the storage
   with ``kafka.tools.StorageTool`` (``--standalone``), starts ``kafka.Kafka`` and waits until
   an AdminClient can list topics. ``stop``/``kill``/``start`` reuse the same ports and data,
   so an outage test can take the broker away and bring it back under the same bootstrap.
3. The fixtures :func:`kafka_bootstrap` (session) and :func:`kafka_broker` (per test, same
   session broker) hand it to tests. With ``KAFKA_BOOTSTRAP`` set, ``kafka_bootstrap`` uses
   that external broker instead and ``kafka_broker`` errors, since it cannot stop someone
   else's broker.
"""

from __future__ import annotations

import atexit
import contextlib
import ctypes
import hashlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from types import TracebackType

import pytest
from confluent_kafka import KafkaException
from confluent_kafka.admin import AdminClient, NewTopic

TESTS_DIR = Path(__file__).resolve().parent
REPO_ROOT = TESTS_DIR.parent
POM = TESTS_DIR / "kafka" / "pom.xml"
CACHE_DIR = REPO_ROOT / ".kafka"
FAILED_LOGS_DIR = CACHE_DIR / "logs"

READY_TIMEOUT_S = 60.0
STOP_TIMEOUT_S = 30.0
MVN_TIMEOUT_S = 900.0
JVM_HEAP = "-Xmx512m"

LOG4J2_PROPERTIES = """\
# Written by tests/kafka_broker.py: everything at INFO to stdout, which the harness sends to
# broker.log. The noisy per-request loggers are turned down.
status = warn
appender.out.type = Console
appender.out.name = STDOUT
appender.out.layout.type = PatternLayout
appender.out.layout.pattern = [%d] %p %m (%c)%n
rootLogger.level = INFO
rootLogger.appenderRef.out.ref = STDOUT
logger.request.name = kafka.request.logger
logger.request.level = WARN
logger.authorizer.name = kafka.authorizer.logger
logger.authorizer.level = WARN
"""


class KafkaHarnessError(RuntimeError):
    """The harness could not resolve, format, start or reach the broker."""


def _pom_digest() -> str:
    """Short hash of the pom, so that editing it invalidates the cached classpath."""
    return hashlib.sha256(POM.read_bytes()).hexdigest()[:12]


def default_classpath_file() -> Path:
    """Where the resolved classpath is cached: in the git-ignored ``.kafka/`` of the repo,
    keyed by the pom's hash, so it outlives any one test session's temp dir."""
    return CACHE_DIR / f"classpath-{_pom_digest()}.txt"


def _cached_classpath(cache_file: Path) -> str | None:
    """The cached classpath if the file exists and every jar it names is still on disk."""
    if not cache_file.is_file():
        return None
    classpath = cache_file.read_text().strip()
    jars = [entry for entry in classpath.split(os.pathsep) if entry]
    if not jars or not all(Path(jar).is_file() for jar in jars):
        return None
    return classpath


def resolve_classpath(cache_file: Path | None = None) -> str:
    """Return the Kafka server classpath, running Maven only when the cache is missing or stale.

    Maven writes to a temporary file that is then renamed into place, so two sessions
    resolving at once never read a half-written classpath.
    """
    cache_file = cache_file or default_classpath_file()
    cached = _cached_classpath(cache_file)
    if cached is not None:
        return cached
    mvn = shutil.which("mvn")
    if mvn is None:
        raise KafkaHarnessError("`mvn` is not on PATH: it is needed once to resolve Kafka's jars")
    cache_file.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=cache_file.name, dir=cache_file.parent)
    os.close(fd)
    cmd = [
        mvn,
        "-q",
        "-B",
        "-f",
        str(POM),
        "dependency:build-classpath",
        f"-Dmdep.outputFile={tmp_name}",
    ]
    try:
        done = subprocess.run(
            cmd, capture_output=True, text=True, timeout=MVN_TIMEOUT_S, check=False
        )
        if done.returncode != 0:
            raise KafkaHarnessError(
                f"Maven could not resolve the Kafka jars ({' '.join(cmd)}):\n"
                f"{done.stdout[-4000:]}\n{done.stderr[-4000:]}"
            )
        os.replace(tmp_name, cache_file)
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp_name)
    classpath = _cached_classpath(cache_file)
    if classpath is None:
        raise KafkaHarnessError(f"Maven wrote no usable classpath to {cache_file}")
    return classpath


def free_port() -> int:
    """A TCP port on 127.0.0.1 that is free right now (the OS picks it)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _port_open(port: int) -> bool:
    """Whether something accepts TCP connections on 127.0.0.1:port (a quiet pre-check, so
    librdkafka does not log connection-refused noise while the JVM is still booting)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.settimeout(0.5)
        return sock.connect_ex(("127.0.0.1", port)) == 0


def _die_with_parent() -> Callable[[], None] | None:
    """A ``preexec_fn`` that makes the kernel SIGKILL the broker if the test process dies
    without tearing it down (Linux only), so no orphaned JVM holds ports or memory."""
    if not sys.platform.startswith("linux"):
        return None
    libc = ctypes.CDLL(None, use_errno=True)
    pr_set_pdeathsig = 1

    def preexec() -> None:
        libc.prctl(pr_set_pdeathsig, signal.SIGKILL)

    return preexec


def admin_client(bootstrap: str) -> AdminClient:
    """An AdminClient for ``bootstrap`` with short socket timeouts suited to tests."""
    return AdminClient({"bootstrap.servers": bootstrap, "socket.timeout.ms": 10000})


def create_topic(
    bootstrap: str,
    name: str,
    partitions: int,
    *,
    config: dict[str, str] | None = None,
    exist_ok: bool = False,
    timeout_s: float = 30.0,
) -> None:
    """Create a replication-factor-1 topic and wait until every partition has a leader.

    Waiting for leaders matters: right after ``create_topics`` returns, a producer or consumer
    may still see UNKNOWN_TOPIC_OR_PART for a moment, which makes tests flaky.
    Works against any broker, including an external ``KAFKA_BOOTSTRAP`` one.
    """
    admin = admin_client(bootstrap)
    futures = admin.create_topics(
        [NewTopic(name, num_partitions=partitions, replication_factor=1, config=config or {})],
        operation_timeout=timeout_s,
        request_timeout=timeout_s,
    )
    try:
        futures[name].result(timeout=timeout_s)
    except KafkaException as exc:
        if not (exist_ok and exc.args[0].name() == "TOPIC_ALREADY_EXISTS"):
            raise
    deadline = time.monotonic() + timeout_s
    while True:
        topic = admin.list_topics(topic=name, timeout=10).topics.get(name)
        if (
            topic is not None
            and topic.error is None
            and len(topic.partitions) == partitions
            and all(p.leader >= 0 and p.error is None for p in topic.partitions.values())
        ):
            return
        if time.monotonic() > deadline:
            raise KafkaHarnessError(f"topic {name!r} has no leader for every partition yet")
        time.sleep(0.1)


class KafkaBroker:
    """One KRaft broker+controller JVM under ``work_dir``, on fixed loopback ports.

    Layout of ``work_dir``: ``server.properties``, ``log4j2.properties``, ``data/`` (the log
    dir, which survives ``stop``/``start``) and ``broker.log`` (stdout and stderr of every
    start, appended). Ports are picked once, at construction, so ``bootstrap`` stays valid
    across restarts.
    """

    def __init__(
        self,
        work_dir: Path,
        *,
        classpath_file: Path | None = None,
        auto_create_topics: bool = False,
        ready_timeout_s: float = READY_TIMEOUT_S,
    ) -> None:
        self.work_dir = Path(work_dir)
        self.classpath_file = classpath_file
        self.auto_create_topics = auto_create_topics
        self.ready_timeout_s = ready_timeout_s
        self.port = free_port()
        self.controller_port = free_port()
        while self.controller_port == self.port:
            self.controller_port = free_port()
        self.data_dir = self.work_dir / "data"
        self.properties_file = self.work_dir / "server.properties"
        self.log4j_file = self.work_dir / "log4j2.properties"
        self.log_file = self.work_dir / "broker.log"
        self.starts = 0
        self._classpath: str | None = None
        self._formatted = False
        self._process: subprocess.Popen[bytes] | None = None

    @property
    def bootstrap(self) -> str:
        """The ``bootstrap.servers`` string for clients: ``127.0.0.1:PORT``."""
        return f"127.0.0.1:{self.port}"

    @property
    def pid(self) -> int | None:
        """The JVM's process id while it runs, else ``None``."""
        return self._process.pid if self.running else None

    @property
    def running(self) -> bool:
        """Whether the broker JVM is alive (not necessarily ready)."""
        return self._process is not None and self._process.poll() is None

    def server_properties(self) -> str:
        """The KRaft config: node 1 is both broker and the single (standalone) voter."""
        lines = {
            "process.roles": "broker,controller",
            "node.id": "1",
            "controller.quorum.bootstrap.servers": f"127.0.0.1:{self.controller_port}",
            "listeners": (
                f"PLAINTEXT://127.0.0.1:{self.port},CONTROLLER://127.0.0.1:{self.controller_port}"
            ),
            "advertised.listeners": f"PLAINTEXT://127.0.0.1:{self.port}",
            "controller.listener.names": "CONTROLLER",
            "inter.broker.listener.name": "PLAINTEXT",
            "listener.security.protocol.map": "PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT",
            "log.dirs": str(self.data_dir),
            "num.partitions": "1",
            "default.replication.factor": "1",
            "min.insync.replicas": "1",
            "offsets.topic.replication.factor": "1",
            "offsets.topic.num.partitions": "3",
            "transaction.state.log.replication.factor": "1",
            "transaction.state.log.min.isr": "1",
            "transaction.state.log.num.partitions": "3",
            "share.coordinator.state.topic.replication.factor": "1",
            "share.coordinator.state.topic.min.isr": "1",
            "group.initial.rebalance.delay.ms": "0",
            "auto.create.topics.enable": str(self.auto_create_topics).lower(),
            "delete.topic.enable": "true",
            # After a kill() the controller keeps the dead broker's registration until its
            # session expires (default 9 s) and refuses the restarted one meanwhile
            # (DUPLICATE_BROKER_REGISTRATION); a short session makes crash tests quick.
            "broker.heartbeat.interval.ms": "500",
            "broker.session.timeout.ms": "3000",
        }
        return "".join(f"{key}={value}\n" for key, value in lines.items())

    def _java(self) -> str:
        """The ``java`` binary on PATH (Kafka 4.x needs Java 17 or newer)."""
        java = shutil.which("java")
        if java is None:
            raise KafkaHarnessError("`java` (17+) is not on PATH: the test broker needs it")
        return java

    def _run_tool(self, *args: str) -> str:
        """Run a short-lived Kafka JVM tool on the broker's classpath; return its stdout."""
        assert self._classpath is not None
        cmd = [self._java(), "-Xmx256m", "-cp", self._classpath, *args]
        done = subprocess.run(cmd, capture_output=True, text=True, timeout=120, check=False)
        if done.returncode != 0:
            raise KafkaHarnessError(
                f"{' '.join(args[:2])} failed (exit {done.returncode}):\n"
                f"{done.stdout[-4000:]}\n{done.stderr[-4000:]}"
            )
        return done.stdout

    def _prepare(self) -> None:
        """First start only: resolve jars, write configs, format the storage."""
        self._classpath = resolve_classpath(self.classpath_file)
        self.work_dir.mkdir(parents=True, exist_ok=True)
        self.properties_file.write_text(self.server_properties())
        self.log4j_file.write_text(LOG4J2_PROPERTIES)
        cluster_id = self._run_tool("kafka.tools.StorageTool", "random-uuid").strip()
        self._run_tool(
            "kafka.tools.StorageTool",
            "format",
            "--standalone",
            "-t",
            cluster_id,
            "-c",
            str(self.properties_file),
        )
        self._formatted = True

    def start(self) -> KafkaBroker:
        """Start the JVM (formatting storage on the very first start) and wait until ready.

        Raises :class:`KafkaHarnessError` with the tail of ``broker.log`` when the JVM exits
        early or is not ready within ``ready_timeout_s``.
        """
        if self.running:
            return self
        if not self._formatted:
            self._prepare()
        assert self._classpath is not None
        self.starts += 1
        cmd = [
            self._java(),
            JVM_HEAP,
            "-Xms128m",
            "-XX:+UseG1GC",
            "-Djava.awt.headless=true",
            f"-Dlog4j2.configurationFile={self.log4j_file}",
            "-cp",
            self._classpath,
            "kafka.Kafka",
            str(self.properties_file),
        ]
        with open(self.log_file, "ab") as log:
            log.write(f"==== test harness: start #{self.starts} ====\n".encode())
            log.flush()
            # The child keeps its own copy of the descriptor; ours can close at once.
            self._process = subprocess.Popen(
                cmd,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                cwd=self.work_dir,
                start_new_session=True,  # a Ctrl-C at the terminal must not hit the broker
                preexec_fn=_die_with_parent(),
            )
        _LIVE_BROKERS.add(self)
        try:
            self.wait_ready()
        except BaseException:
            self.kill()
            raise
        return self

    def wait_ready(self) -> None:
        """Block until an AdminClient can list topics, the JVM dies, or the timeout passes."""
        deadline = time.monotonic() + self.ready_timeout_s
        while time.monotonic() < deadline:
            if not self.running:
                code = self._process.returncode if self._process else None
                raise KafkaHarnessError(
                    f"Kafka exited during startup (exit {code}); log {self.log_file}:\n"
                    f"{self.log_tail()}"
                )
            if _port_open(self.port):
                try:
                    admin_client(self.bootstrap).list_topics(timeout=5)
                    return
                except KafkaException:
                    pass
            time.sleep(0.1)
        raise KafkaHarnessError(
            f"Kafka not ready after {self.ready_timeout_s:.0f}s; log {self.log_file}:\n"
            f"{self.log_tail()}"
        )

    def stop(self, timeout_s: float = STOP_TIMEOUT_S) -> None:
        """Shut down cleanly (SIGTERM: controlled shutdown, flushed logs); SIGKILL if it hangs."""
        if self._process is None:
            return
        if self._process.poll() is None:
            self._process.send_signal(signal.SIGTERM)
            try:
                self._process.wait(timeout=timeout_s)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait(timeout=timeout_s)
        self._process = None
        _LIVE_BROKERS.discard(self)

    def kill(self) -> None:
        """Crash the broker (SIGKILL): no controlled shutdown, recovery on the next start."""
        if self._process is None:
            return
        if self._process.poll() is None:
            self._process.kill()
        self._process.wait(timeout=STOP_TIMEOUT_S)
        self._process = None
        _LIVE_BROKERS.discard(self)

    def create_topic(
        self, name: str, partitions: int, *, config: dict[str, str] | None = None
    ) -> None:
        """Create a topic on this broker and wait for its partition leaders."""
        create_topic(self.bootstrap, name, partitions, config=config)

    def log_tail(self, lines: int = 60) -> str:
        """The last ``lines`` lines of ``broker.log`` (for error messages)."""
        if not self.log_file.is_file():
            return "(no broker.log yet)"
        text = self.log_file.read_text(errors="replace").splitlines()
        return "\n".join(text[-lines:])

    def __enter__(self) -> KafkaBroker:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    def __repr__(self) -> str:
        return f"KafkaBroker(bootstrap={self.bootstrap!r}, work_dir={str(self.work_dir)!r})"


_LIVE_BROKERS: set[KafkaBroker] = set()


@atexit.register
def _kill_leftover_brokers() -> None:
    """Last resort if a session ends without fixture teardown: no JVM outlives Python."""
    for broker in list(_LIVE_BROKERS):
        broker.kill()


# --------------------------------------------------------------------------- fixtures


def _terminal_line(config: pytest.Config, text: str) -> None:
    """Write a line to the real terminal even while output is captured."""
    reporter = config.pluginmanager.get_plugin("terminalreporter")
    capture = config.pluginmanager.get_plugin("capturemanager")
    if reporter is None:
        print(text, file=sys.stderr)
        return
    with capture.global_and_fixture_disabled() if capture is not None else contextlib.nullcontext():
        reporter.ensure_newline()
        reporter.write_line(text)


_SESSION_BROKER = pytest.StashKey[KafkaBroker]()


@pytest.fixture(scope="session")
def kafka_bootstrap(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    """``bootstrap.servers`` of a running Kafka 4.x broker for this test session.

    ``KAFKA_BOOTSTRAP`` in the environment wins; otherwise the harness starts one broker for
    the whole session (on first use) and stops it at the end. On a session with failures its
    ``broker.log`` is copied to ``.kafka/logs/`` in the repo and the path is printed, so CI
    and humans can read what the broker saw.
    """
    external = os.environ.get("KAFKA_BOOTSTRAP")
    if external:
        yield external
        return
    broker = KafkaBroker(tmp_path_factory.mktemp("kafka-broker"))
    try:
        broker.start()
    except KafkaHarnessError:
        _keep_logs(request.config, broker)
        raise
    request.config.stash[_SESSION_BROKER] = broker
    try:
        yield broker.bootstrap
    finally:
        broker.stop()
        del request.config.stash[_SESSION_BROKER]
        if request.session.testsfailed:
            _keep_logs(request.config, broker)


def _keep_logs(config: pytest.Config, broker: KafkaBroker) -> None:
    """Copy the broker's log next to the repo and say where it is."""
    if not broker.log_file.is_file():
        return
    FAILED_LOGS_DIR.mkdir(parents=True, exist_ok=True)
    target = FAILED_LOGS_DIR / "broker.log"
    shutil.copyfile(broker.log_file, target)
    _terminal_line(config, f"kafka test broker log: {target} (work dir {broker.work_dir})")


@pytest.fixture
def kafka_broker(request: pytest.FixtureRequest, kafka_bootstrap: str) -> Iterator[KafkaBroker]:
    """The session's :class:`KafkaBroker` itself, for tests that stop, kill or restart it.

    It is the same broker ``kafka_bootstrap`` points at; after the test it is started again
    if the test left it down, so later tests find it running. Errors (does not skip) under
    ``KAFKA_BOOTSTRAP``: an external broker cannot be stopped by the harness.
    """
    broker = request.config.stash.get(_SESSION_BROKER, None)
    if broker is None:
        raise KafkaHarnessError(
            "the kafka_broker fixture needs the harness's own broker, but KAFKA_BOOTSTRAP "
            f"points at an external one ({kafka_bootstrap}): unset KAFKA_BOOTSTRAP to run "
            "broker-outage tests"
        )
    yield broker
    if not broker.running:
        broker.start()
