"""Operators in the console: the user list shows each one's roles and second factor; roles are
changed only on the user's roles page, through `operator_roles_set` (which refuses incompatible
roles), never by editing groups or single permissions on the user form."""

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.utils import unquote
from django.contrib.auth.admin import UserAdmin
from django.contrib.auth.models import User
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponseBase, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import URLPattern, path, reverse
from django.utils.translation import get_language, gettext_lazy
from django.utils.translation import gettext as _
from django_otp.plugins.otp_totp.models import TOTPDevice

from prakerja.common.actors import Actor
from prakerja.common.errors import ApplicationError
from prakerja.console.roles import ROLES, ROLES_BY_CODE, roles_of
from prakerja.console.services import operator_roles_set


class RolesForm(forms.Form):
    roles = forms.MultipleChoiceField(
        label=gettext_lazy("Roles"),
        required=False,
        widget=forms.CheckboxSelectMultiple,
        choices=[(role.code, role.label_en) for role in ROLES],
        help_text=gettext_lazy(
            "The finance maker and checker must be different people; an auditor holds no other "
            "role."
        ),
    )


class OperatorAdmin(UserAdmin):
    list_display = ("username", "email", "is_staff", "is_superuser", "roles", "second_factor")
    list_filter = ("is_staff", "is_superuser", "is_active", "groups")
    change_form_template = "console/user_change_form.html"
    fieldsets = tuple(
        (
            name,
            {
                **options,
                "fields": tuple(
                    field
                    for field in options["fields"]
                    if field not in ("groups", "user_permissions")
                ),
            },
        )
        for name, options in UserAdmin.fieldsets or ()
    )

    @admin.display(description=gettext_lazy("Roles"))
    def roles(self, user: User) -> str:
        return ", ".join(str(ROLES_BY_CODE[code].label_en) for code in roles_of(user)) or "—"

    @admin.display(description=gettext_lazy("Authenticator enrolled"), boolean=True)
    def second_factor(self, user: User) -> bool:
        return TOTPDevice.objects.filter(user=user, confirmed=True).exists()

    def get_urls(self) -> list[URLPattern]:
        roles = path(
            "<path:object_id>/roles/",
            self.admin_site.admin_view(self.roles_view),
            name="auth_user_roles",
        )
        return [roles, *super().get_urls()]

    def change_view(
        self,
        request: HttpRequest,
        object_id: str,
        form_url: str = "",
        extra_context: dict[str, Any] | None = None,
    ) -> Any:
        extra = {
            **(extra_context or {}),
            "roles_url": reverse("admin:auth_user_roles", args=[object_id]),
        }
        return super().change_view(request, object_id, form_url, extra)

    def roles_view(self, request: HttpRequest, object_id: str) -> HttpResponseBase:
        if not self.has_change_permission(request):
            raise PermissionDenied
        user = self.get_object(request, unquote(object_id))
        if user is None:
            raise Http404(_("There is no user with id %(id)s.") % {"id": object_id})
        form = RolesForm(request.POST or None, initial={"roles": roles_of(user)})
        if request.method == "POST" and form.is_valid():
            try:
                operator_roles_set(
                    user=user,
                    roles=form.cleaned_data["roles"],
                    actor=Actor.for_user(request.user),
                )
            except ApplicationError as error:
                form.add_error(None, f"{error.code} — {error.message(get_language() or 'id')}")
            else:
                messages.success(
                    request, _("Roles of %(user)s saved.") % {"user": user.get_username()}
                )
                return HttpResponseRedirect(reverse("admin:auth_user_change", args=[user.pk]))
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "original": user,
            "title": _("Roles of %(user)s") % {"user": user.get_username()},
            "form": form,
        }
        return TemplateResponse(request, "admin/auth/user/roles.html", context)


admin.site.unregister(User)
admin.site.register(User, OperatorAdmin)
