import json
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from prakerja.common.actors import Actor
from prakerja.common.errors import ApplicationError
from prakerja.partners import services
from prakerja.partners.models import Partner, PartnerKind
from prakerja.partners.selectors import partner_credentials


class Command(BaseCommand):
    help = "Partners: create, show credentials, rotate and retire secrets, suspend and reactivate."

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        create = sub.add_parser("create", help="a partner with its first secret")
        create.add_argument("code")
        create.add_argument("--name", required=True)
        create.add_argument("--kind", choices=PartnerKind.values, required=True)
        create.add_argument("--webhook-url", default="")
        show = sub.add_parser("credentials", help="the code and newest secret, for its engineers")
        show.add_argument("code")
        show.add_argument("--json", action="store_true")
        for name, text in (
            ("rotate", "add a second live secret (both are accepted until one is retired)"),
            ("retire", "retire the older of two live secrets"),
            ("suspend", "refuse every call with 403 PARTNER_SUSPENDED"),
            ("activate", "accept calls again"),
        ):
            sub.add_parser(name, help=text).add_argument("code")

    def handle(self, *args: Any, **options: Any) -> None:
        actor = Actor.system("cli:partners")
        action = options["action"]
        try:
            if action == "create":
                partner, secret = services.partner_create(
                    code=options["code"],
                    name=options["name"],
                    kind=options["kind"],
                    webhook_url=options["webhook_url"],
                    actor=actor,
                )
                self.stdout.write(f"created {partner.code}; signing secret (shown once): {secret}")
                return
            if action == "credentials":
                found = partner_credentials(options["code"])
                if options["json"]:
                    self.stdout.write(
                        json.dumps(
                            {
                                "partner_id": found.code,
                                "kind": found.kind,
                                "secret": found.secret,
                                "live_secrets": found.live_secrets,
                                "webhook_secret": found.webhook_secret,
                            }
                        )
                    )
                else:
                    self.stdout.write(f"X-PARTNER-ID: {found.code}\nsecret: {found.secret}")
                return
            found_partner = Partner.objects.filter(code=options["code"]).first()
            if found_partner is None:
                raise CommandError(f"no partner {options['code']}")
            partner = found_partner
            if action == "rotate":
                secret = services.partner_secret_add(partner=partner, actor=actor)
                self.stdout.write(f"new secret for {partner.code} (both live): {secret}")
            elif action == "retire":
                services.partner_secret_retire_oldest(partner=partner, actor=actor)
                self.stdout.write(f"retired the older secret of {partner.code}")
            else:
                status = "suspended" if action == "suspend" else "active"
                services.partner_status_set(
                    partner=partner, status=status, reason="cli", actor=actor
                )
                self.stdout.write(f"{partner.code} is {status}")
        except ApplicationError as error:
            raise CommandError(f"{error.code}: {error.message('en')} {error.details}") from None
