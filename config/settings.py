"""The settings model: defaults, then a TOML or YAML file, then ``CREDITRADAR_*`` variables.

Environment variables win over the file (``CREDITRADAR_HORIZON_MONTHS=6``; nested fields
with a double underscore: ``CREDITRADAR_KAFKA__BOOTSTRAP=...``), so a deployment can keep
secrets out of files. `load_settings` is the one way to build settings from a file; it
refuses a ``CREDITRADAR_`` variable that names no setting (`check_environment`).
"""

from __future__ import annotations

import codecs
import difflib
import hashlib
import json
import math
import os
import tomllib
from collections.abc import Hashable, Iterator, Mapping
from importlib.resources.abc import Traversable
from pathlib import Path
from types import UnionType
from typing import Annotated, Any, Literal, Union, get_args, get_origin

import yaml
from pydantic import (
    AfterValidator,
    AliasChoices,
    BaseModel,
    ConfigDict,
    Field,
    SecretStr,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic_core import InitErrorDetails
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    SettingsError,
    TomlConfigSettingsSource,
    YamlConfigSettingsSource,
)

from config.alerts import AlertsSettings
from config.audit import AuditSettings
from config.codes import CURRENCIES
from config.errors import ConfigError
from config.news import NewsSettings
from config.redact import redact_text
from config.workspace import WorkspaceSettings

OTHER_VARIABLES = ("CREDITRADAR_CONFIG", "CREDITRADAR_JOB", "CREDITRADAR_AUDIT_KEY")
"""``CREDITRADAR_`` variables that name no setting yet are the program's own, so
`check_environment` lets them be: the settings file's path (``--config``, `flows.cli`), the
job a spawned process builds (`flows.cluster`) and the audit key docs/audit.md names with
``creditradar audit verify --key-env``."""
SECRET_KEY_PARTS = ("password", "secret", "token", "key", "credential", "sasl.oauthbearer")
MIN_RATE, MAX_RATE = 1e-9, 1e9
"""The bounds of an exchange rate, in the settings and in the fx feed: wider than any
currency's against another, and narrow enough that its inverse and its products with
amounts stay finite (a rate of 1e-320 made the watchlist's exposure infinite)."""
FxRate = Annotated[float, Field(ge=MIN_RATE, le=MAX_RATE, allow_inf_nan=False)]
"""One unit of a currency in the reporting currency: from `MIN_RATE` to `MAX_RATE`."""


def _iso_currency(code: str) -> str:
    if code not in CURRENCIES:
        raise ValueError(f"{code!r} is no ISO 4217 currency code (three capitals, e.g. 'EUR')")
    return code


CurrencyCode = Annotated[str, AfterValidator(_iso_currency)]
"""A currency code as the feeds write it, one the contract accepts: ISO 4217, in capitals
(``eur`` and ``EUX`` would match no record's currency)."""
GradeLetter = Literal["A", "B", "C", "D", "E"]
"""A grade of the policy: A (lowest risk) to E."""


class _Section(BaseModel):
    """A section of the settings: a name it does not define is refused, as at the top level
    (a misspelt ``read_aheed`` left the default silently)."""

    model_config = ConfigDict(extra="forbid")


class DetectorSettings(_Section):
    """How input becomes state: time, ids, decay of signals, what counts as a default."""

    allowed_lateness_days: int = Field(7, ge=0, le=366)
    """A record dated more than this behind what its feed has reached is rejected (late)."""
    read_ahead: int = Field(64, ge=1, le=100_000)
    """Later records a feed reads ahead before it leaves a day (not counting those a quarter
    beyond the latest that counted): a record dated ahead of its neighbours waits for its day
    instead of moving the feed's clock (`detectors.feedclock`)."""
    max_gap_days: int = Field(3660, ge=31)
    """A record dated further than this from its feed's clock is a typo (implausible)."""
    event_id_memory_days: int = Field(180, ge=8, le=36_600)
    """Event ids are remembered (for duplicates) at least this long."""
    require_master_data: bool = True
    """Reject events of customers without a master record (customers feed) before them."""
    dormant_after_days: int = Field(120, ge=1)
    """A customer with nothing open, no fresh tradeline or accounts and no event for this
    long is not snapshotted at month ends (it costs nothing until its next event)."""
    news_half_life_days: float = Field(90.0, gt=0)
    registry_half_life_days: float = Field(180.0, gt=0)
    material_overdue_amount: float = Field(500.0, ge=0)
    """90+ days past due counts as a default only above this amount (reporting currency)."""
    judgment_share_of_exposure: float = Field(0.1, gt=0)
    """A court judgment of at least this share of the customer's open receivables warns on
    its own day (`detectors.hard`)."""
    hard_news_categories: list[str] = ["insolvency", "fraud"]
    """News of any of these categories warns on its own day."""


class ModelSettings(_Section):
    """The global risk model: the prior scorecard's level, and when and how the learned
    models replace it."""

    prior_default_rate: float | None = Field(None, gt=0, lt=1)
    """The prior scorecard's PD within the horizon of a customer with no signal against it,
    until the book's own defaults (``prior_level_after_defaults``) or labels tell (None:
    `detectors.models.scorecard.default_rate`, 1.5 % within 8 months, at the same monthly
    hazard for another horizon).
    A card book or a sample rich in defaults sets it somewhat below its known default rate
    (signals add points), so the first year's PDs and grades are at its level; it moves
    every customer's log-odds alike, so it changes no ranking. The calibrated scorecard and
    the online logistic regression start from the same level."""
    prior_level_after_defaults: int = Field(20, ge=0)
    """Once the book has shown this many defaults, the prior scorecard's level follows them:
    every customer's log-odds move alike so that the book's mean PD is ``1 - (1 - rate) **
    horizon``, the monthly default rate its month-end snapshots have shown so far taken over
    the horizon (`detectors.models.level`). Before, and with 0 (never), the level is
    ``prior_default_rate``'s."""
    min_labels: int = Field(2000, ge=1)
    min_positives: int = Field(40, ge=1)
    learning_rate: float = Field(0.005, gt=0)
    refit_every_months: int = Field(3, ge=1)
    """The least time (event-time months) between refits of the boosted challenger."""
    refit_growth: float = Field(0.5, gt=0)
    """A refit is due once the labels learned since the last grew by this share..."""
    refit_within_months: int = Field(12, ge=1)
    """...or this many months passed: new labels pay for a refit, a quiet book waits."""
    store_rows: int = Field(20_000, ge=128, le=1_000_000)
    """Labelled rows the boosted model is refit on, at most (all positives while they fit in
    half; of the negatives every k-th, weighing k): memory and refit time stay bounded
    whatever the book."""
    l2: float = Field(1e-4, ge=0)
    champion_margin: float = Field(0.03, ge=0, le=1)
    """A learned model becomes champion over a more expressive one only if it ranks the
    validated labels better by more than this AUC (`detectors.models.validation`)."""
    seed: int = 7


class TierSettings(_Section):
    name: str = Field(min_length=1, max_length=40)
    min_expected_loss: float = Field(ge=0)
    """Expected loss (PD x exposure above the insured limit, reporting currency) from which
    a customer is in this tier."""
    review_days: int = Field(ge=1, le=3650)
    """Days between reviews of its limit (the watchlist's ``next_review``)."""


class PolicySettings(_Section):
    """Grades, actions, the desk's alert budget and the warning policy's hysteresis.

    Warnings are decided at event-time month ends (see `detectors.policy`).
    """

    grade_bounds: list[float] = [0.02, 0.06, 0.15, 0.35]
    """Upper PD bounds of grades A, B, C and D; E is everything above the last."""
    warn_from_grade: GradeLetter = "C"
    resolve_below_grade: GradeLetter = "C"
    resolve_after_months: int = Field(
        12, ge=1, validation_alias=AliasChoices("resolve_after_months", "resolve_after_snapshots")
    )
    """Calm month ends in a row that resolve a warning: a year by default, the cure period
    banks give a forborne exposure. On the simulated books a warning resolved after 3 calm
    month ends was often withdrawn before the default it foretold, and issued again later
    (docs/how-well-it-warns.md: a year's hold warned more defaulters 6 months ahead, with
    fewer false warnings). ``resolve_after_snapshots``, the old name (which counted every
    snapshot, so a warning could resolve within days), is read as this."""
    escalation_alerts: bool = True
    """Alert again (an ``escalation``) when a warned customer's grade worsens at a month end;
    False: no alert for a worse month-end grade (hard events still alert), the worse grade
    shown on the watchlist only, so no action follows from it either (an ERP channel's
    ``reduce_limit`` or ``hold_orders`` for grade D or E waits for the next warning).
    Escalations are alerts a desk must read, so they count as warnings in
    `creditradar evaluate`."""
    refer_from_grade: GradeLetter = "D"
    """The pre-sale check (`creditradar check`) refers an order of a customer graded this or
    worse to an analyst."""
    insured_from_grade: GradeLetter = "C"
    """From this grade, an order that takes exposure above the insured limit is referred."""
    max_terms_days: int = Field(90, ge=0)
    """Payment terms longer than this are referred."""
    loss_budget: float = Field(2500.0, gt=0)
    """The expected loss a desk accepts per customer (reporting currency): what
    `creditradar limits` recommends a limit from."""
    loss_given_default: float = Field(1.0, gt=0, le=1)
    """The share of the uninsured exposure lost in a default."""
    limit_cap_multiple: float = Field(2.0, ge=1)
    """A recommended limit is at most this many times the current one."""
    limit_breach_warnings: list[Literal["credit_limit", "insured_limit"]] = []
    """The limits whose breach by exposure gives a ``limit_breach`` warning on its day;
    none by default, as books often run above their limits (on the simulated book half the
    customers went 10 % over theirs at some point): name ``credit_limit``, and
    ``insured_limit`` to be told when exposure outgrows the cover."""
    limit_breach_tolerance: float = Field(0.1, ge=0)
    """A breach warns once exposure is this share above the limit; it warns again only
    after exposure was back within the limit."""
    insurer_notify_days: int | None = Field(60, ge=0, le=3650)
    """The credit insurer's deadline to be told of an overdue invoice, in days after its due
    date (None: no credit insurance); the collections worklist dates each insured one's."""
    tiers: list[TierSettings] = [
        TierSettings(name="key", min_expected_loss=10_000, review_days=30),
        TierSettings(name="watch", min_expected_loss=1_000, review_days=90),
        TierSettings(name="routine", min_expected_loss=0, review_days=365)]
    """Customer tiers, the highest floor first, the last one's floor 0 (`detectors.tiers`):
    each warning and watchlist row carries its customer's, for routing and reviews."""
    insurer_deadline_warning_days: int | None = Field(None, ge=0, le=3650)
    """Warn this many days before that deadline of each insured customer's invoice still
    open then (``insurer_deadline`` warnings); None: no such warnings."""
    hard_event_warnings: Literal["within_budget", "all"] = "within_budget"
    """Which hard events (`detectors.hard`) warn on their day: ``within_budget``, those of a
    customer already under warning, or whose score of that day (which counts the event) is
    in the warning zone and ranks within the alert budget, the month end's rule applied on
    the day; ``all``, every one."""
    budget_per_1000: float = Field(30.0, gt=0, le=1000)
    """Alert budget: the most new warnings a month end may bring, per 1,000 customers. Only
    customers ranked that high in the portfolio may be newly warned."""
    budget: int | None = Field(None, ge=1)
    """The alert budget as an absolute number of new warnings a month; wins over
    ``budget_per_1000``."""
    top_share: float | None = Field(None, gt=0, le=1)
    """Deprecated: the budget as a share of the portfolio; when given without
    ``budget_per_1000`` it sets it (0.03 is 30 per 1,000)."""

    @model_validator(mode="after")
    def _top_share_sets_budget(self) -> PolicySettings:
        if self.top_share is not None and "budget_per_1000" not in self.model_fields_set:
            self.budget_per_1000 = 1000 * self.top_share
        return self

    @field_validator("tiers")
    @classmethod
    def _floors_descend_to_zero(cls, tiers: list[TierSettings]) -> list[TierSettings]:
        floors = [t.min_expected_loss for t in tiers]
        if not tiers or floors[-1] != 0 or floors != sorted(floors, reverse=True):
            raise ValueError("tiers need floors from the highest down to 0 for the last")
        if len({t.name for t in tiers}) != len(tiers):
            raise ValueError("tier names must differ")
        return tiers

    @field_validator("grade_bounds")
    @classmethod
    def _increasing(cls, bounds: list[float]) -> list[float]:
        if len(bounds) != 4 or any(b <= a for a, b in zip(bounds, bounds[1:], strict=False)):
            raise ValueError("grade_bounds needs four increasing PD bounds (A, B, C, D)")
        if not (bounds[0] > 0 and bounds[-1] < 1):
            raise ValueError("grade bounds must lie strictly between 0 and 1")
        return bounds


class KafkaSettings(_Section):
    """Broker connection and topic names; ``config`` passes through to librdkafka."""

    bootstrap: str | None = None
    topics: dict[str, str] = {
        "fx": "creditradar.fx",
        "country_risk": "creditradar.country_risk",
        "industry_risk": "creditradar.industry_risk",
        "customers": "creditradar.customers",
        "payments": "creditradar.payments",
        "news": "creditradar.news",
        "registry": "creditradar.registry",
        "warnings": "creditradar.warnings",
        "deadletter": "creditradar.deadletter",
    }
    config: dict[str, SecretStr] = {}
    """Extra librdkafka settings (``security.protocol``, ``sasl.password``...); all secret."""


class RecoverySettings(_Section):
    directory: Path | None = None
    """Where a run snapshots its state to resume after a crash (None: no recovery)."""
    snapshot_interval_seconds: float = Field(5.0, gt=0)
    """Wall-clock seconds between snapshots (bytewax epochs). Results never depend on it:
    every step applies complete event-time days in a fixed order."""


class EngineSettings(_Section):
    """How the work is spread; nothing here changes a result (but ``idle_input_seconds``
    in live runs, for records that arrive after their day)."""

    buckets: int = Field(0, ge=0, le=4096)
    """Buckets of customers (and shares of event ids): 0 means one per worker."""
    idle_input_seconds: float = Field(5.0, gt=0, le=3600)
    """A live input (a topic read without an end) with nothing to read for this long no
    longer holds the other inputs' days back; what it sends later for a day already
    complete is applied on the next day, or rejected as late (see docs/engine.md)."""


class Settings(BaseSettings):
    """Everything CreditRadar can be configured with; defaults run the embedded monitor."""

    model_config = SettingsConfigDict(
        env_prefix="CREDITRADAR_", env_nested_delimiter="__", extra="forbid"
    )

    horizon_months: int = Field(8, ge=1, le=36)
    state_dir: Path = Path(".creditradar")
    reporting_currency: CurrencyCode = "EUR"
    fx_rates: dict[CurrencyCode, FxRate] = {"EUR": 1.0, "USD": 0.92, "GBP": 1.17, "CHF": 1.05}
    """Static rates into the reporting currency (one unit of the currency in it): the
    fallback for a day the fx feed has no rate for (docs/money.md)."""
    fx_max_age_days: int = Field(7, ge=0, le=366)
    """How old the fx feed's latest rate may be and still convert a day's amounts
    (weekends and holidays have no rates of their own)."""
    detectors: DetectorSettings = DetectorSettings()
    model: ModelSettings = ModelSettings()
    policy: PolicySettings = PolicySettings()
    kafka: KafkaSettings = KafkaSettings()
    recovery: RecoverySettings = RecoverySettings()
    engine: EngineSettings = EngineSettings()
    alerts: AlertsSettings = AlertsSettings()
    audit: AuditSettings = AuditSettings()
    workspace: WorkspaceSettings = WorkspaceSettings()
    news: NewsSettings = NewsSettings()
    sources: dict[str, dict[str, SecretStr]] = {}
    """Options of source plugins, by plugin name (``[sources.erp]`` with ``token = "..."``,
    or ``CREDITRADAR_SOURCES__ERP__TOKEN``): a token kept off the command line, where ``ps``
    and shell histories would show it; an ``-o`` of the same key wins."""
    log_level: Literal["debug", "info", "warning", "error"] = "info"

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        # The file's values arrive as init kwargs; the environment must override them.
        return env_settings, init_settings, file_secret_settings

    @model_validator(mode="after")
    def _finite_floats(self) -> Settings:
        """Refuse ``inf`` and ``nan`` in every float setting, each named as pydantic names a
        bad value. Here, once: ``allow_inf_nan=False`` holds only for the model whose config
        says it, and the sections are models of several modules."""
        errors = [InitErrorDetails(type="finite_number", loc=loc, input=value)
                  for loc, value in _non_finite(self)]
        if errors:
            raise ValidationError.from_exception_data(type(self).__name__, errors)
        return self

    @model_validator(mode="after")
    def _audit_key_from_file(self) -> Settings:
        # `creditradar audit init` writes STATE_DIR/audit.key: runs sign with it by default
        self.audit = self.audit.with_key_from_file(self.state_dir)
        return self

    def with_recovery_directory(self, directory: Path | None) -> Settings:
        """These settings with ``recovery.directory`` set: the steps copy their snapshots
        only when it is, so an entry point that learns the directory elsewhere sets it here."""
        recovery = self.recovery.model_copy(update={"directory": directory})
        return self.model_copy(update={"recovery": recovery})


def _non_finite(value: Any, loc: tuple[str | int, ...] = ()) -> Iterator[tuple[Any, float]]:
    """Where ``value`` (validated settings) holds an infinite or NaN float, and that float."""
    if isinstance(value, float) and not math.isfinite(value):
        yield loc, value
    elif isinstance(value, BaseModel):
        for name in type(value).model_fields:
            yield from _non_finite(getattr(value, name), (*loc, name))
    elif isinstance(value, dict):
        for key, item in value.items():
            yield from _non_finite(item, (*loc, key))
    elif isinstance(value, list | tuple):
        for index, item in enumerate(value):
            yield from _non_finite(item, (*loc, index))


class _UniqueKeyLoader(yaml.SafeLoader):
    """PyYAML's safe loader, refusing a key given twice in one mapping: YAML forbids it, yet
    PyYAML lets the last one silently win (a second ``engine:`` would drop the first)."""

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        first: dict[Any, yaml.Mark] = {}
        for key_node, _ in node.value:
            if key_node.tag == "tag:yaml.org,2002:merge":  # "<<": its keys may be overridden
                continue
            key = self.construct_object(key_node, deep=deep)
            if not isinstance(key, Hashable):  # the constructor refuses it itself
                continue
            if key in first:
                raise yaml.constructor.ConstructorError(
                    None, None, f"duplicate key {key!r} (first at line "
                    f"{first[key].line + 1})", key_node.start_mark)
            first[key] = key_node.start_mark
        return super().construct_mapping(node, deep=deep)


class _TomlSource(TomlConfigSettingsSource):
    """pydantic-settings' TOML source, accepting a file that starts with a UTF-8 byte-order
    mark: Windows editors write one, and TOML (unlike YAML) would refuse it."""

    def _read_file(self, file_path: Path | Traversable) -> dict[str, Any]:
        text = file_path.read_bytes().removeprefix(codecs.BOM_UTF8).decode("utf-8")
        return tomllib.loads(text)


class _YamlMappingSource(YamlConfigSettingsSource):
    """pydantic-settings' YAML source, refusing a file whose top level is not a mapping: its
    own merges a list of pairs as if it were one, and fails on a scalar with a bare error.
    A key given twice in a mapping is refused (`_UniqueKeyLoader`)."""

    def _read_file(self, file_path: Path | Traversable) -> dict[str, Any]:
        with file_path.open(encoding=self.yaml_file_encoding or "utf-8") as stream:
            data = yaml.load(stream, Loader=_UniqueKeyLoader)
        if data is None:  # an empty file, or only comments: nothing set
            return {}
        if not isinstance(data, dict):
            raise ConfigError(f"settings file {file_path} must hold a mapping (key: value "
                              "lines) at its top level")
        return data


def read_config_file(path: Path) -> dict[str, Any]:
    """Read a TOML (``.toml``) or YAML (``.yaml``/``.yml``) settings file into a dict, through
    pydantic-settings' own file sources. A syntax error names the line and column only: the
    offending line may hold a password."""
    if path.suffix not in (".toml", ".yaml", ".yml"):
        raise ConfigError(f"settings file {path} must end in .toml, .yaml or .yml")
    if not path.is_file():
        raise ConfigError(f"cannot read settings file {path}: it does not exist")
    try:
        if path.suffix == ".toml":
            source: PydanticBaseSettingsSource = _TomlSource(Settings, path)
        else:
            source = _YamlMappingSource(Settings, path, yaml_file_encoding="utf-8")
        data = source()
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"settings file {path} is not valid TOML: {exc}") from None
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        raise ConfigError(f"settings file {path} is not valid YAML{where}: "
                          f"{exc.problem or 'syntax error'}") from None
    except (yaml.YAMLError, OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"cannot read settings file {path}: {type(exc).__name__}") from None
    return data


def describe_errors(error: ValidationError) -> str:
    """A validation error as one sentence naming each key and what is wrong with it, never
    the value given (it may be a secret)."""
    problems = []
    for item in error.errors(include_input=False, include_url=False, include_context=False):
        key = ".".join(str(part) for part in item["loc"]) or "settings"
        message = item["msg"][0].lower() + item["msg"][1:] if item["msg"] else "invalid"
        problems.append(f"{key}: {message}")
    return "; ".join(problems)


def _members(annotation: Any) -> tuple[Any, ...]:
    """The types of a union (``X | None``), or the annotation alone."""
    return get_args(annotation) if get_origin(annotation) in (Union, UnionType) else (annotation,)


def _is_mapping(annotation: Any) -> bool:
    """Whether a field of this type is a dict: any key below it may be set."""
    return any(isinstance(origin := get_origin(member) or member, type)
               and issubclass(origin, Mapping) for member in _members(annotation))


def _fields(annotation: Any) -> dict[str, Any]:
    """The fields of the model(s) in ``annotation`` by every lower-case name (field name and
    aliases) pydantic-settings matches a variable's part to, with their types."""
    fields: dict[str, Any] = {}
    for member in _members(annotation):
        if isinstance(member, type) and issubclass(member, BaseModel):
            for name, field in member.model_fields.items():
                choices = field.validation_alias
                names = [name, field.alias, *getattr(choices, "choices", [choices])]
                fields.update({n.lower(): field.annotation for n in names if isinstance(n, str)})
    return fields


def _names_a_setting(parts: list[str]) -> bool:
    """Whether the parts of a variable's name (after the prefix, split at ``__``) walk a path
    of settings fields, as pydantic-settings reads nested variables."""
    annotation: Any = Settings
    for part in parts:
        if _is_mapping(annotation):
            return True
        annotation = _fields(annotation).get(part.lower())
        if annotation is None:
            return False
    return True


def _setting_names(annotation: Any = Settings, path: str = "") -> Iterator[str]:
    """Every variable name (after the prefix, lower case) that sets one field."""
    for name, inner in _fields(annotation).items():
        yield path + name
        yield from _setting_names(inner, f"{path}{name}__")


def check_environment(environ: Mapping[str, str]) -> None:
    """Refuse a ``CREDITRADAR_`` variable that names no setting (nor one of `OTHER_VARIABLES`):
    pydantic-settings ignores it, so a misspelt name would silently leave the default. The
    error names the variable and the nearest setting, never the value (it may be a secret)."""
    for name, parts in _setting_variables(environ).items():
        if not _names_a_setting(list(parts)):
            rest = _DELIMITER.lower().join(parts)
            nearest = difflib.get_close_matches(rest, list(_setting_names()), n=1)
            hint = f" (did you mean {_PREFIX}{nearest[0].upper()}?)" if nearest else ""
            raise ConfigError(f"environment variable {name} names no setting{hint}")


_PREFIX = str(Settings.model_config["env_prefix"]).upper()
_DELIMITER = str(Settings.model_config["env_nested_delimiter"])


def _setting_variables(environ: Mapping[str, str]) -> dict[str, tuple[str, ...]]:
    """The ``CREDITRADAR_`` variables that stand for settings (not `OTHER_VARIABLES`), each
    with the path it names: its name after the prefix, in lower case, split at ``__``."""
    return {name: tuple(name.upper().removeprefix(_PREFIX).lower().split(_DELIMITER.lower()))
            for name in environ
            if name.upper().startswith(_PREFIX) and name.upper() not in OTHER_VARIABLES}


def _where(exc: ValidationError, path: Path | None, environ: Mapping[str, str]) -> str:
    """Where the invalid settings came from: the file, or the ``CREDITRADAR_`` variables of
    the settings in error (they win over the file; naming the file alone sent a user to look
    for a key it did not hold)."""
    variables = _setting_variables(environ)
    named, from_file = set(), False
    for error in exc.errors():
        where = tuple(str(part).lower() for part in error["loc"])
        found = [name for name, parts in variables.items()
                 if where and (parts[:len(where)] == where or (
                     where[:len(parts)] == parts
                     and _holds(environ[name], where[len(parts):])))]
        named.update(found)
        from_file = from_file or not found
    sources = ([str(path)] if path and from_file else []) + [f"${n}" for n in sorted(named)]
    return f" in {' and '.join(sources)}" if sources else ""


def _holds(value: str, path: tuple[str, ...]) -> bool:
    """Whether a variable's ``value``, the JSON of a section, gives the setting at ``path``
    within it (a plain value gives the setting the variable names)."""
    if not path:
        return True
    try:
        found: Any = json.loads(value)
    except ValueError:
        return False
    for part in path:
        if not isinstance(found, dict):
            return False
        keys = {str(key).lower(): key for key in found}
        if part not in keys:
            return False
        found = found[keys[part]]
    return True


def load_settings(path: Path | None = None, **overrides: Any) -> Settings:
    """Defaults < file < environment < explicit overrides (from the command line)."""
    check_environment(os.environ)
    data = read_config_file(path) if path else {}
    try:
        settings = Settings(**data)
    except ValidationError as exc:
        raise ConfigError(f"invalid settings{_where(exc, path, os.environ)}: "
                          f"{describe_errors(exc)}") from None
    except SettingsError as exc:  # an environment variable that is not valid JSON; names it
        raise ConfigError(f"invalid settings: {exc}") from None
    return settings.model_copy(update=overrides) if overrides else settings


DECIDING = ("horizon_months", "reporting_currency", "fx_rates", "fx_max_age_days", "detectors",
            "model", "policy", "news")
"""The settings that change what the monitor decides; where it runs and delivers do not."""


def config_digest(settings: Settings) -> str:
    """Names the configuration that decided: the hash of its deciding part, canonically."""
    deciding = {key: value for key, value in redacted(settings).items() if key in DECIDING}
    canonical = json.dumps(deciding, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()[:16]


def redacted(settings: Settings) -> dict[str, Any]:
    """The effective settings as plain data, with every secret replaced by ``***``."""
    data = json.loads(settings.model_dump_json())
    return _redact(data)


def _redact(value: Any, key: str = "") -> Any:
    """``value`` with secret fields masked, and the credentials and tokens of any URL in a
    string (``kafka.bootstrap``, ``alerts.link_template``) masked as in logs."""
    if isinstance(value, dict):
        return {k: _redact(v, k) for k, v in value.items()}
    if isinstance(value, list):
        return [_redact(v, key) for v in value]
    if isinstance(value, str) and value == "**********":
        return "***"
    if isinstance(value, str) and any(part in key.lower() for part in SECRET_KEY_PARTS):
        return "***"
    if isinstance(value, str) and "://" in value:
        return redact_text(value)
    return value
