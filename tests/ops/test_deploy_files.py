"""The deployment files say only what the code can do.

Every command the Procfile and the systemd units run is a real `prakerja` management command (or the
Celery beat of the project's app) with options its parser accepts; every environment variable
docs/operations.md names is in the one table of config/env.py; nginx's body limits and paths agree
with the settings, and nginx's own answers under /api/ are the contract's JSON error body. No
database: these read files and parsers only; where nginx is installed, a test copy of the site also
runs in nginx itself.
"""

import datetime
import http.client
import http.server
import json
import os
import re
import shlex
import shutil
import socket
import ssl
import subprocess
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import click
import pytest
from celery.bin.base import CLIContext
from celery.bin.celery import celery as celery_cli
from django.conf import settings
from django.core.management import get_commands, load_command_class
from django.core.management.base import CommandError

from prakerja.common.errors import (
    ApplicationError,
    BadGateway,
    BadRequest,
    GatewayTimeout,
    RequestHeadersTooLarge,
    RequestTooLarge,
    ServiceUnavailable,
    UriTooLong,
)
from prakerja.config import env
from prakerja.config.celery import app as celery_app
from prakerja.incentives.console import MAX_STATEMENT_BYTES
from prakerja.ops.bench.processes import free_port
from prakerja.ops.gunicorn_worker import refusal_body
from prakerja.registration.admin_exclusions import MAX_UPLOAD_BYTES
from prakerja.registration.rules import SELFIE_MAX_BYTES

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


# --- nginx's own answers under /api/ are the contract's JSON -------------------------------------

NGINX_CONF = REPO / "deploy" / "nginx" / "prakerja.conf"
# What nginx answers for the APIs, by status: the same bodies as `prakerja serve`'s own refusals.
NGINX_REFUSALS: dict[int, ApplicationError] = {
    400: BadRequest(),
    413: RequestTooLarge(limit_bytes=6 * MIB),
    414: UriTooLong(),
    431: RequestHeadersTooLarge(),
    502: BadGateway(),
    503: ServiceUnavailable(),
    504: GatewayTimeout(),
}


def _block(conf: str, opening: str) -> str:
    """The text of the block that starts with `opening` (`location /api/ {`), braces matched."""
    start = conf.index(opening) + len(opening)
    depth, at = 1, start
    while depth:
        depth += {"{": 1, "}": -1}.get(conf[at], 0)
        at += 1
    return conf[start : at - 1]


def _error_pages(block: str) -> dict[str, str]:
    """`error_page CODE [=NEW] URI;` lines directly in a block: {"494 =431": "/_json_error/431"}."""
    inner = re.sub(r"\{[^{}]*\}", "", block)  # the nested blocks' own lines left out
    return {
        f"{code} {overwrite}".strip(): where
        for code, overwrite, where in re.findall(
            r"^\s*error_page (\d+)(?: (=\d+))? (\S+);", inner, flags=re.MULTILINE
        )
    }


def test_nginx_answers_for_the_apis_in_the_contracts_json():
    conf = NGINX_CONF.read_text()
    tls_server = _block(conf, "server {\n    # `listen")

    # internal locations return each status with its error's body, both languages
    returned = {
        int(status): (location_status, default_type, body)
        for status, default_type, location_status, body in re.findall(
            r"location = /_json_error/(\d+) \{\s*internal;\s*default_type ([\w/]+);"
            r"\s*return (\d+) '([^']*)';\s*\}",
            conf,
        )
    }
    assert returned == {
        status: (str(status), "application/json", json.dumps(refusal_body(error)))
        for status, error in NGINX_REFUSALS.items()
    }
    # under /api/: every status nginx itself gives there
    assert _error_pages(_block(conf, "location /api/ {")) == {
        "400": "/_json_error/400",
        "413": "/_json_error/413",
        "414": "/_json_error/414",
        "494 =431": "/_json_error/431",
        "502": "/_json_error/502",
        "503": "/_json_error/503",
        "504": "/_json_error/504",
    }
    # before the location is known (request line, headers): on every path
    assert _error_pages(tls_server) == {
        "400": "/_json_error/400",
        "414": "/_json_error/414",
        "494 =431": "/_json_error/431",
    }
    # the APIs' own error answers pass through unchanged, and elsewhere nginx keeps its pages
    assert not re.search(r"^\s*proxy_intercept_errors", conf, flags=re.MULTILINE)
    assert _error_pages(_block(conf, "location / {")) == {}
    assert "proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;" in conf


def _nginx() -> str | None:
    return shutil.which("nginx") or next(
        (p for p in ("/usr/sbin/nginx", "/usr/local/sbin/nginx") if Path(p).exists()), None
    )


def _self_signed(folder: Path) -> tuple[Path, Path]:
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "prakerja.example.go.id")])
    now = datetime.datetime.now(datetime.UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = folder / "fullchain.pem", folder / "privkey.pem"
    cert_path.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert_path, key_path


def _replaced(text: str, old: str, new: str) -> str:
    assert old in text, old
    return text.replace(old, new)


@dataclass(frozen=True)
class RunningNginx:
    tls_port: int
    folder: Path


class _Upstream(http.server.BaseHTTPRequestHandler):
    """Stands in for `prakerja serve`: /api/slow answers after nginx's (shortened) read timeout,
    /api/broken and /broken close without an answer, /api/own-error is the APIs' own 503."""

    def do_GET(self) -> None:
        if self.path.endswith("/broken"):
            self.close_connection = True
            return
        if self.path == "/api/slow":
            time.sleep(3)
        status, body = (
            (503, b'{"error": {"code": "OWN"}}') if "own-error" in self.path else (200, b"{}")
        )
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        return


@pytest.fixture(scope="module")
def nginx(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningNginx]:
    """nginx running a copy of the site: local ports, a self-signed certificate, the upstream a
    small server of the test's, the proxy's read timeout 1 s instead of 60 s. Skipped where nginx
    is not installed (the text test above still runs)."""
    binary = _nginx()
    if binary is None:
        pytest.skip("nginx is not installed (apt-get install nginx-light runs this test)")
    folder = tmp_path_factory.mktemp("nginx")
    cert, key = _self_signed(folder)
    upstream = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Upstream)
    threading.Thread(target=upstream.serve_forever, daemon=True).start()
    tls_port, http_port = free_port(), free_port()
    site = NGINX_CONF.read_text()
    for old, new in (
        ("listen 80;", f"listen 127.0.0.1:{http_port};"),
        ("listen [::]:80;\n", ""),
        ("listen 443 ssl http2;", f"listen 127.0.0.1:{tls_port} ssl http2;"),
        ("listen [::]:443 ssl http2;\n", ""),
        ("server 127.0.0.1:8000;", f"server 127.0.0.1:{upstream.server_address[1]};"),
        ("/etc/ssl/prakerja/fullchain.pem", str(cert)),
        ("/etc/ssl/prakerja/privkey.pem", str(key)),
        ("proxy_read_timeout 60s;", "proxy_read_timeout 1s;"),
    ):
        site = _replaced(site, old, new)
    (folder / "site.conf").write_text(site)
    temp = " ".join(
        f"{kind}_temp_path {folder / kind};"
        for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")
    )
    (folder / "nginx.conf").write_text(
        ("user root;\n" if os.geteuid() == 0 else "")
        + f"worker_processes 1;\npid {folder / 'nginx.pid'};\nerror_log {folder / 'error.log'};\n"
        + "events { worker_connections 64; }\n"
        + f"http {{ access_log off; {temp} include {folder / 'site.conf'}; }}\n"
    )
    command = [binary, "-p", str(folder), "-c", str(folder / "nginx.conf"), "-e", "stderr"]
    checked = subprocess.run([*command, "-t"], capture_output=True, text=True, timeout=30)
    assert checked.returncode == 0, checked.stderr
    process = subprocess.Popen([*command, "-g", "daemon off;"], stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", tls_port), timeout=1).close()
                break
            except OSError:
                time.sleep(0.1)
        yield RunningNginx(tls_port, folder)
    finally:
        process.terminate()
        process.wait(timeout=30)
        upstream.shutdown()


def _over_tls(port: int, request: bytes) -> tuple[int, dict[str, str], bytes]:
    """Send `request` byte for byte over TLS; the answer as nginx gave it."""
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    with (
        socket.create_connection(("127.0.0.1", port), timeout=30) as raw,
        context.wrap_socket(raw, server_hostname="prakerja.example.go.id") as connection,
    ):
        connection.sendall(request)
        answer = http.client.HTTPResponse(connection)  # type: ignore[arg-type]
        answer.begin()
        body = answer.read()
        return answer.status, {k.lower(): v for k, v in answer.getheaders()}, body


HOST = b"Host: prakerja.example.go.id\r\n"


@pytest.mark.parametrize(
    ("request_bytes", "status"),
    [
        (
            b"GET /api/partner/v1/orders?cursor="
            + b"a" * 10_000
            + b" HTTP/1.1\r\n"
            + HOST
            + b"\r\n",
            414,
        ),
        (
            b"GET /api/partner/v1/orders HTTP/1.1\r\n"
            + HOST
            + b"X-Big: "
            + b"b" * 100_000
            + b"\r\n\r\n",
            431,
        ),
        (b"\x00\x01 this is not HTTP\r\n\r\n", 400),
        (
            b"POST /api/partner/v1/statements HTTP/1.1\r\n"
            + HOST
            + b"Content-Type: application/json\r\nContent-Length: 7000000\r\n\r\n",
            413,
        ),
        (b"GET /api/broken HTTP/1.1\r\n" + HOST + b"\r\n", 502),
        (b"GET /api/slow HTTP/1.1\r\n" + HOST + b"\r\n", 504),
    ],
    ids=["10-kB-url", "100-kB-header", "garbage", "7-MB-body", "web-process-gone", "too-slow"],
)
def test_nginx_s_own_answers_under_api_are_the_contracts_json(
    nginx: RunningNginx, request_bytes: bytes, status: int
):
    answered, headers, body = _over_tls(nginx.tls_port, request_bytes)

    assert (answered, headers["content-type"]) == (status, "application/json")
    assert body == json.dumps(refusal_body(NGINX_REFUSALS[status])).encode()
    assert headers["strict-transport-security"] == "max-age=31536000"


def test_through_nginx_the_apis_own_answers_and_other_pages_are_left_alone(nginx: RunningNginx):
    own = _over_tls(nginx.tls_port, b"GET /api/own-error HTTP/1.1\r\n" + HOST + b"\r\n")
    page = _over_tls(nginx.tls_port, b"GET /broken HTTP/1.1\r\n" + HOST + b"\r\n")
    inner = _over_tls(nginx.tls_port, b"GET /_json_error/504 HTTP/1.1\r\n" + HOST + b"\r\n")

    assert (own[0], own[2]) == (503, b'{"error": {"code": "OWN"}}')
    assert (page[0], page[1]["content-type"]) == (502, "text/html")
    # the answers' own addresses are internal: asked for, they are not there
    assert inner[0] == 404
