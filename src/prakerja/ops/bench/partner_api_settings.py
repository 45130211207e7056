"""Settings of the partner-api benchmark's web server, and of nothing else: the project's settings
with the benchmark's URLconf, which adds a signed no-op endpoint (the benchmark's limit) beside the
real API. `prakerja bench partner-api` starts its gunicorn with DJANGO_SETTINGS_MODULE pointing here;
`prakerja serve`, the demo and production never import this module."""

from prakerja.config.settings import *  # noqa: F403

ROOT_URLCONF = "prakerja.ops.bench.partner_api_urls"
