"""The deployment files say only what the code can do.

Every command the Procfile and the systemd units run is a real `prakerja` management command (or the
Celery beat of the project's app) with options its parser accepts; every environment variable
docs/operations.md names is in the one table of config/env.py; nginx's body limits and paths agree
with the settings. No database: these read files and parsers only.
"""

import re
import shlex
from pathlib import Path
from typing import Any

import click
import pytest
from celery.bin.base import CLIContext
from celery.bin.celery import celery as celery_cli
from django.conf import settings
from django.core.management import get_commands, load_command_class
from django.core.management.base import CommandError

from prakerja.config import env
from prakerja.config.celery import app as celery_app
from prakerja.incentives.console import MAX_STATEMENT_BYTES
from prakerja.registration.admin_exclusions import MAX_UPLOAD_BYTES
from prakerja.registration.services import SELFIE_MAX_BYTES

REPO = Path(__file__).resolve().parents[2]
UNITS = REPO / "deploy" / "systemd"
VENV_BIN = "/opt/prakerja/.venv/bin/"
ENV_NAMES = {var.name for var in env.TABLE}
DEFAULTS = {var.name: var.default for var in env.TABLE}
# Set by the Procfile runner (honcho, foreman, a PaaS), not read by the project.
PROCFILE_RUNNER_VARS = {"PORT": "5000"}
MIB = 1024 * 1024


def prakerja_parse(argv: list[str]) -> tuple[str, dict[str, Any]]:
    """Parse `prakerja ARGV…` as cli.main would run it: the command must exist and its parser must
    accept the options. Returns the command's name and its parsed options."""
    assert argv, "no command"
    name = argv[0].replace("-", "_")  # as cli.main maps `sandbox-data` to `sandbox_data`
    commands = get_commands()
    if name not in commands:
        raise CommandError(f"no prakerja command {argv[0]!r}")
    command = load_command_class(commands[name], name)
    options = vars(command.create_parser("prakerja", name).parse_args(argv[1:]))
    return name, options


def celery_parse(argv: list[str]) -> tuple[str, dict[str, Any]]:
    """Parse `celery ARGV…` with Celery's own command line: the project's app, a real
    subcommand, options the subcommand accepts. Returns the subcommand and its options."""
    assert argv[:2] == ["-A", "prakerja.config.celery"], argv
    group = celery_cli.make_context("celery", list(argv[:3]))
    assert group.params["app"] == "prakerja.config.celery"
    subcommand = celery_cli.get_command(group, argv[2])
    if subcommand is None:
        raise click.UsageError(f"no celery command {argv[2]!r}")
    obj = CLIContext(app=celery_app, no_color=True, workdir=None)
    parsed = subcommand.make_context(argv[2], list(argv[3:]), parent=group, obj=obj)
    return argv[2], parsed.params


def run_parse(argv: list[str]) -> tuple[str, str, dict[str, Any]]:
    """("prakerja" | "celery", command, options) for a command line the deployment runs."""
    program = Path(argv[0]).name
    if program == "prakerja":
        return ("prakerja", *prakerja_parse(argv[1:]))
    if program == "celery":
        return ("celery", *celery_parse(argv[1:]))
    raise AssertionError(f"{argv[0]} is neither prakerja nor celery")


def expand(line: str, variables: dict[str, str]) -> str:
    """Shell-style `$NAME` and `${NAME:-default}`: a name must be known (given, or in the env
    table with a default in the line)."""

    def one(match: re.Match[str]) -> str:
        name = match.group(1) or match.group(3)
        if name in variables:
            return variables[name]
        assert name in ENV_NAMES, f"${name} is not a setting of config/env.py"
        assert match.group(2) is not None, f"${name} needs a default in the Procfile"
        return match.group(2)

    return re.sub(r"\$\{(\w+)(?::-([^}]*))?\}|\$(\w+)", one, line)


def procfile() -> dict[str, str]:
    types: dict[str, str] = {}
    for line in (REPO / "Procfile").read_text().splitlines():
        if line.strip() and not line.startswith("#"):
            name, _, command = line.partition(":")
            types[name.strip()] = command.strip()
    return types


def unit(path: Path) -> list[tuple[str, str, str]]:
    """(section, key, value) of every setting of a unit file, in order (keys may repeat)."""
    section, entries = "", []
    for raw in path.read_text().splitlines():
        line = raw.strip()
        if not line or line.startswith(("#", ";")):
            continue
        if line.startswith("["):
            section = line.strip("[]")
            continue
        key, _, value = line.partition("=")
        entries.append((section, key.strip(), value.strip()))
    return entries


def unit_value(entries: list[tuple[str, str, str]], section: str, key: str) -> list[str]:
    return [v for s, k, v in entries if (s, k) == (section, key)]


def unit_commands(entries: list[tuple[str, str, str]]) -> list[tuple[str, list[str]]]:
    """(key, argv) of every ExecStart/ExecStartPre/… of a unit (prefixes like `-` removed)."""
    found = []
    for section, key, value in entries:
        if section == "Service" and key.startswith("Exec"):
            found.append((key, shlex.split(value.lstrip("-@:+!"))))
    return found


# --- Procfile ------------------------------------------------------------------------------------


def test_procfile_runs_release_web_worker_and_beat():
    assert procfile() == {
        "release": "prakerja migrate --noinput",
        "web": "prakerja serve --host 0.0.0.0 --port $PORT",
        "worker": "prakerja worker --concurrency 4 --queues celery",
        "beat": "celery -A prakerja.config.celery beat "
        "--schedule ${PRAKERJA_DATA_DIR:-./var}/celerybeat-schedule --loglevel INFO",
    }


def test_procfile_commands_are_real_commands_with_accepted_options():
    parsed = {
        name: run_parse(shlex.split(expand(command, PROCFILE_RUNNER_VARS)))
        for name, command in procfile().items()
    }
    program, command, options = parsed["release"]
    assert (program, command, options["interactive"]) == ("prakerja", "migrate", False)
    program, command, options = parsed["web"]
    assert (program, command) == ("prakerja", "serve")
    assert (options["host"], options["port"]) == ("0.0.0.0", 5000)  # noqa: S104 - a PaaS router in front
    assert options["workers"] == int(DEFAULTS["PRAKERJA_WEB_WORKERS"])
    program, command, options = parsed["worker"]
    assert (program, command) == ("prakerja", "worker")
    assert (options["concurrency"], options["queues"]) == (4, "celery")
    program, command, options = parsed["beat"]
    assert (program, command) == ("celery", "beat")
    assert options["schedule"] == "./var/celerybeat-schedule"
    assert options["scheduler"] == "celery.beat:PersistentScheduler"


# --- systemd units -------------------------------------------------------------------------------

EXPECTED_UNITS = {
    "prakerja-web.service": [
        ("ExecStartPre", "prakerja", "collectstatic"),
        ("ExecStart", "prakerja", "serve"),
    ],
    "prakerja-worker@.service": [("ExecStart", "prakerja", "worker")],
    "prakerja-beat.service": [("ExecStart", "celery", "beat")],
    "prakerja-migrate.service": [("ExecStart", "prakerja", "migrate")],
}


def test_the_units_are_the_expected_ones():
    assert sorted(p.name for p in UNITS.iterdir()) == sorted([*EXPECTED_UNITS, "prakerja.target"])


@pytest.mark.parametrize("name", sorted(EXPECTED_UNITS))
def test_unit_commands_are_real_commands_with_accepted_options(name):
    commands = unit_commands(unit(UNITS / name))
    seen = []
    for key, argv in commands:
        if key == "ExecReload":
            assert argv == ["/bin/kill", "-HUP", "$MAINPID"]  # gunicorn's graceful reload
            continue
        assert argv[0].startswith(VENV_BIN), argv[0]
        program, command, _options = run_parse(argv)
        seen.append((key, program, command))
    assert seen == EXPECTED_UNITS[name]


def test_unit_options_parse_to_the_documented_values():
    web = dict(unit_commands(unit(UNITS / "prakerja-web.service")))
    assert run_parse(web["ExecStart"])[2]["port"] == int(DEFAULTS["PRAKERJA_PORT"])
    assert run_parse(web["ExecStartPre"])[2]["interactive"] is False
    worker = dict(unit_commands(unit(UNITS / "prakerja-worker@.service")))
    options = run_parse(worker["ExecStart"])[2]
    assert (options["concurrency"], options["queues"], options["loglevel"]) == (4, "celery", "INFO")
    beat = dict(unit_commands(unit(UNITS / "prakerja-beat.service")))
    assert run_parse(beat["ExecStart"])[2]["schedule"] == "/var/lib/prakerja/celerybeat-schedule"


@pytest.mark.parametrize("name", sorted(EXPECTED_UNITS))
def test_units_run_as_prakerja_with_the_env_file_and_hardening(name):
    entries = unit(UNITS / name)
    for key, value in (
        ("User", "prakerja"),
        ("EnvironmentFile", "/etc/prakerja/env"),
        ("NoNewPrivileges", "true"),
        ("ProtectSystem", "strict"),
        ("ReadWritePaths", "/var/lib/prakerja"),
        ("PrivateTmp", "true"),
    ):
        assert unit_value(entries, "Service", key) == [value], key
    long_running = name != "prakerja-migrate.service"
    assert unit_value(entries, "Service", "Restart") == (["on-failure"] if long_running else [])
    # Migrations run once per deploy by hand, never as a part of the target's start.
    assert unit_value(entries, "Install", "WantedBy") == (
        ["prakerja.target"] if long_running else []
    )
    assert unit_value(entries, "Unit", "PartOf") == (["prakerja.target"] if long_running else [])


def test_beat_runs_the_periodic_jobs_of_the_settings():
    assert {
        name: (entry["task"], entry["schedule"])
        for name, entry in celery_app.conf.beat_schedule.items()
    } == {name: (task, float(seconds)) for name, (task, seconds) in settings.PERIODIC_JOBS.items()}


# --- the checks themselves refuse what does not exist --------------------------------------------


def test_unknown_commands_and_options_are_refused():
    with pytest.raises(CommandError):
        prakerja_parse(["beat"])
    with pytest.raises(CommandError):
        prakerja_parse(["serve", "--bogus"])
    with pytest.raises(CommandError):
        prakerja_parse(["worker", "--concurrency", "many"])
    with pytest.raises(click.UsageError):
        celery_parse(["-A", "prakerja.config.celery", "beat", "--bogus"])
    with pytest.raises(click.UsageError):
        celery_parse(["-A", "prakerja.config.celery", "nosuch"])
    with pytest.raises(AssertionError):
        run_parse(["/usr/bin/python3", "-m", "prakerja"])
    with pytest.raises(AssertionError, match="NOT_A_SETTING"):
        expand("prakerja serve --port $NOT_A_SETTING", PROCFILE_RUNNER_VARS)


# --- docs/operations.md --------------------------------------------------------------------------

DOC = REPO / "docs" / "operations.md"


def test_every_environment_variable_the_doc_names_is_in_the_env_table():
    text = DOC.read_text()
    named = set(re.findall(r"\b(?:PRAKERJA_[A-Z0-9_]+|DATABASE_URL|CELERY_[A-Z0-9_]+)\b", text))
    assigned = set(re.findall(r"^([A-Z][A-Z0-9_]*)=", text, flags=re.MULTILINE))
    assert named | assigned <= ENV_NAMES, sorted((named | assigned) - ENV_NAMES)
    # The example env file sets what production needs changed from the embedded defaults.
    assert {
        "DATABASE_URL",
        "CELERY_BROKER_URL",
        "PRAKERJA_SECRET_KEY",
        "PRAKERJA_NIK_KEY",
        "PRAKERJA_BLIND_INDEX_KEY",
        "PRAKERJA_SECURE_COOKIES",
        "PRAKERJA_ALLOWED_HOSTS",
        "PRAKERJA_EMAIL_URL",
        "PRAKERJA_DATA_DIR",
    } <= assigned
    # The folder the units may write and nginx serves static files from.
    assert "\nPRAKERJA_DATA_DIR=/var/lib/prakerja\n" in text


def test_every_prakerja_command_the_doc_names_exists():
    text = DOC.read_text()
    names = {
        span.split()[1]
        for span in re.findall(r"`(prakerja [^`]+)`", text)
        if not span.split()[1].startswith("-")
    }
    assert names, "the doc names no command"
    unknown = {n for n in names if n.replace("-", "_") not in get_commands()}
    assert not unknown, unknown


# --- nginx ---------------------------------------------------------------------------------------


def _size(value: str) -> int:
    number, unit_ = re.fullmatch(r"(\d+)([km]?)", value).groups()  # type: ignore[union-attr]
    return int(number) * {"": 1, "k": 1024, "m": MIB}[unit_]


def test_nginx_limits_and_paths_agree_with_the_settings():
    conf = (REPO / "deploy" / "nginx" / "prakerja.conf").read_text()
    server_limit, admin_limit = (_size(v) for v in re.findall(r"client_max_body_size (\w+);", conf))
    # Everything outside the admin: Django's body limit and the selfie fit, nothing much larger.
    assert server_limit == 6 * MIB == settings.DATA_UPLOAD_MAX_MEMORY_SIZE
    assert server_limit > SELFIE_MAX_BYTES
    # The admin's uploads (an exclusion list, a statement CSV) with room for the form around them.
    assert max(MAX_UPLOAD_BYTES, MAX_STATEMENT_BYTES) < admin_limit <= MAX_UPLOAD_BYTES + 2 * MIB
    assert "server 127.0.0.1:8000;" in conf
    assert DEFAULTS["PRAKERJA_PORT"] == "8000"
    assert settings.STATIC_URL == "/static/"
    assert "location /static/ {" in conf
    assert "alias /var/lib/prakerja/static/;" in conf
    assert "proxy_set_header X-Forwarded-Proto $scheme;" in conf
