"""The workspace over HTTPS: ``creditradar serve --certfile --keyfile`` started as a real
process on a finished run, with a self-signed certificate made by ``openssl``; plain HTTP to
its port fails, its cookies are Secure, and wrong TLS options are usage errors."""

from __future__ import annotations

import http.client
import json
import shutil
import ssl
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner

from connectors.channels.loopback import free_port
from flows.cli import cli

START_SECONDS = 25.0


def make_certificate(folder: Path, name: str = "server") -> tuple[Path, Path]:
    """A self-signed certificate for 127.0.0.1 (its subjectAltName) and its key, valid a day."""
    if shutil.which("openssl") is None:
        pytest.fail("the TLS tests make their certificate with the openssl command: install "
                    "the distribution's openssl package")
    folder.mkdir(parents=True, exist_ok=True)
    cert, key = folder / f"{name}-cert.pem", folder / f"{name}-key.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes",
                    "-subj", "/CN=localhost", "-days", "1",
                    "-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost",
                    "-keyout", str(key), "-out", str(cert)],
                   check=True, capture_output=True, timeout=60)
    return cert, key


class HttpsWorkspace:
    def __init__(self, process: subprocess.Popen[bytes], port: int, cert: Path,
                 log: Path) -> None:
        self.process, self.port, self.cert, self.log = process, port, cert, log
        self.context = ssl.create_default_context(cafile=str(cert))

    @property
    def url(self) -> str:
        return f"https://127.0.0.1:{self.port}"

    def get(self, path: str) -> http.client.HTTPResponse:
        return urllib.request.urlopen(self.url + path, context=self.context, timeout=10)


@pytest.fixture(scope="module")
def https_workspace(web_run: Path,
                    tmp_path_factory: pytest.TempPathFactory) -> Iterator[HttpsWorkspace]:
    """``creditradar serve`` over HTTPS on the finished run, with ``secure_cookies`` off in
    its settings (HTTPS must mark the cookies Secure all the same)."""
    root = tmp_path_factory.mktemp("ws-tls")
    cert, key = make_certificate(root)
    config = root / "creditradar.toml"
    config.write_text(f'state_dir = {json.dumps(str(root / "state"))}\n\n[workspace]\n'
                      f'data_dir = {json.dumps(str(root / "data"))}\nsecure_cookies = false\n')
    port = free_port()
    log = root / "serve.log"
    with log.open("wb") as output:
        process = subprocess.Popen(
            [sys.executable, "-c", "from flows.cli import main; main()", "--config", str(config),
             "serve", "--out", str(web_run), "--host", "127.0.0.1", "--port", str(port),
             "--no-deliver", "--certfile", str(cert), "--keyfile", str(key)],
            stdin=subprocess.DEVNULL, stdout=output, stderr=output)
    served = HttpsWorkspace(process, port, cert, log)
    try:
        deadline = time.monotonic() + START_SECONDS
        while True:
            if process.poll() is not None:
                raise AssertionError(f"the workspace stopped: {log.read_text()}")
            try:
                with served.get("/healthz"):
                    break
            except (urllib.error.URLError, OSError):
                if time.monotonic() > deadline:
                    raise AssertionError(f"no answer over HTTPS: {log.read_text()}") from None
                time.sleep(0.1)
        yield served
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)


def test_the_workspace_answers_over_https_with_the_given_certificate(
        https_workspace: HttpsWorkspace) -> None:
    with https_workspace.get("/healthz") as response:
        assert response.status == 200
        assert json.loads(response.read())["status"] == "ok"
        assert response.headers["Strict-Transport-Security"] == "max-age=31536000"
    printed = https_workspace.log.read_text()
    assert f"CreditRadar workspace on https://127.0.0.1:{https_workspace.port}/" in printed
    assert "http://" not in printed


def test_plain_http_to_the_https_port_fails(https_workspace: HttpsWorkspace) -> None:
    plain = f"http://127.0.0.1:{https_workspace.port}/healthz"
    with pytest.raises((urllib.error.URLError, http.client.HTTPException, OSError)):
        urllib.request.urlopen(plain, timeout=10).read()
    untrusted = ssl.create_default_context()  # the system's authorities: not our certificate
    with pytest.raises(urllib.error.URLError, match="CERTIFICATE_VERIFY_FAILED"):
        urllib.request.urlopen(https_workspace.url + "/healthz", context=untrusted, timeout=10)


def test_cookies_are_secure_over_https_even_with_secure_cookies_off(
        https_workspace: HttpsWorkspace) -> None:
    with https_workspace.get("/login") as response:
        assert response.status == 200
        cookies = response.headers.get_all("Set-Cookie") or []
    assert cookies
    for cookie in cookies:
        flags = {part.strip().lower() for part in cookie.split(";")}
        assert {"secure", "httponly", "samesite=strict"} <= flags, cookie
    assert "secure_cookies is off" in https_workspace.log.read_text()


def test_certfile_without_keyfile_is_a_usage_error(tmp_path: Path) -> None:
    cert, key = make_certificate(tmp_path)
    runner = CliRunner()
    done = runner.invoke(cli, ["serve", "--out", str(tmp_path / "out"), "--certfile", str(cert)])
    assert done.exit_code == 2 and isinstance(done.exception, SystemExit)
    assert "--keyfile" in done.output and "Traceback" not in done.output
    alone = runner.invoke(cli, ["serve", "--out", str(tmp_path / "out"), "--keyfile", str(key)])
    assert alone.exit_code == 2 and "--certfile" in alone.output


def test_a_missing_or_wrong_tls_file_is_a_usage_error_without_key_material(
        tmp_path: Path) -> None:
    cert, key = make_certificate(tmp_path)
    _, other_key = make_certificate(tmp_path, "other")
    runner = CliRunner()
    base = ["serve", "--out", str(tmp_path / "out"), "--port", str(free_port())]
    missing = runner.invoke(cli, [*base, "--certfile", str(tmp_path / "nope.pem"),
                                  "--keyfile", str(key)])
    assert missing.exit_code == 2 and "'--certfile'" in missing.output
    assert "does not exist" in missing.output
    for certfile, keyfile, says in ((cert, other_key, "does not belong"),
                                    (key, key, "PEM certificate"),
                                    (cert, cert, "PEM private key")):
        done = runner.invoke(cli, [*base, "--certfile", str(certfile), "--keyfile", str(keyfile)])
        assert done.exit_code == 2 and isinstance(done.exception, SystemExit), done.output
        assert "--certfile" in done.output and says in done.output
        secret = "".join(keyfile.read_text().splitlines()[1:3])
        assert secret[:32] not in done.output and "PRIVATE KEY" not in done.output
    assert not (tmp_path / "out").exists()


def test_a_background_workspace_serves_https_until_stopped(web_run: Path, tmp_path: Path) -> None:
    cert, key = make_certificate(tmp_path)
    config = tmp_path / "creditradar.toml"
    config.write_text(f'state_dir = {json.dumps(str(tmp_path / "state"))}\n\n[workspace]\n'
                      f'data_dir = {json.dumps(str(tmp_path / "data"))}\n')
    port = free_port()
    command = [sys.executable, "-c", "from flows.cli import main; main()", "--config",
               str(config), "serve", "--out", str(web_run), "--port", str(port)]
    started = subprocess.run([*command, "--background", "--no-deliver", "--certfile", str(cert),
                              "--keyfile", str(key)],
                             capture_output=True, text=True, timeout=90)
    try:
        assert started.returncode == 0, started.stderr
        assert f"on https://127.0.0.1:{port}/" in started.stdout
        trusted = ssl.create_default_context(cafile=str(cert))
        with urllib.request.urlopen(f"https://127.0.0.1:{port}/healthz", context=trusted,
                                    timeout=10) as response:
            assert response.status == 200
    finally:
        stopped = subprocess.run([*command, "--stop"], capture_output=True, text=True,
                                 timeout=30)
    assert "workspace stopped" in stopped.stdout
