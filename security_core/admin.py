"""Account administration: roles, activation and second-factor devices, never secrets."""

from __future__ import annotations

from typing import Any

from auditlog.admin import LogEntryAdmin
from auditlog.models import LogEntry
from django.contrib import admin, messages
from django.contrib.admin.utils import unquote
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.contrib.auth.forms import AdminUserCreationForm, UserChangeForm
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from security_core import services
from security_core.models import AccessEntry, BackupCodeDevice, SecurityEvent, TOTPDevice, User


class VarnUserCreationForm(AdminUserCreationForm):
    class Meta:
        model = User
        fields = ("email", "display_name", "role")


class VarnUserChangeForm(UserChangeForm):  # type: ignore[type-arg]
    class Meta:
        model = User
        fields = ("email", "display_name", "role", "is_active")


@admin.register(User)
class UserAdmin(DjangoUserAdmin):  # type: ignore[type-arg]
    form = VarnUserChangeForm
    add_form = VarnUserCreationForm
    list_display = ("email", "display_name", "role", "is_active", "last_login")
    list_filter = ("role", "is_active")
    search_fields = ("email", "display_name")
    ordering = ("email",)
    readonly_fields = ("last_login", "date_joined")
    fieldsets = (
        (None, {"fields": ("email", "password")}),
        (_("Profile"), {"fields": ("display_name",)}),
        (_("Access"), {"fields": ("role", "is_active")}),
        (_("Dates"), {"fields": ("last_login", "date_joined")}),
    )
    add_fieldsets = (
        (
            None,
            {
                "classes": ("wide",),
                "fields": (
                    "email",
                    "display_name",
                    "role",
                    "usable_password",
                    "password1",
                    "password2",
                ),
            },
        ),
    )
    filter_horizontal = ()

    def save_model(self, request: HttpRequest, obj: User, form: Any, change: bool) -> None:
        super().save_model(request, obj, form, change)
        if change and "is_active" in form.changed_data and not obj.is_active:
            services.user_sessions_end(user=obj, request=request)

    def user_change_password(
        self, request: HttpRequest, id: str, form_url: str = ""
    ) -> HttpResponse:
        """The admin's own password page, but through the service: audited, sessions ended."""
        user = self.get_object(request, unquote(id))
        if user is None or not self.has_change_permission(request, user):
            raise Http404
        if request.method == "POST":
            form = self.change_password_form(user, request.POST)
            if form.is_valid():
                usable = form.cleaned_data.get("set_usable_password", True)
                services.user_password_change(
                    user=user,
                    new_password=form.cleaned_data["password1"] if usable else None,
                    request=request,
                    keep_current_session=False,
                )
                self.log_change(request, user, "Changed password; the user's sessions were ended.")
                messages.success(request, "Password changed; the user's sessions were ended.")
                return HttpResponseRedirect(
                    reverse("admin:security_core_user_change", args=[user.pk])
                )
        return super().user_change_password(request, id, form_url)


class _DeviceAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    """Lists devices so a lost one can be removed; the secret is never shown or editable."""

    list_display = ("user", "name", "confirmed")
    list_filter = ("confirmed",)
    search_fields = ("user__email",)
    fields = ("user", "name", "confirmed")
    readonly_fields = ("user", "name", "confirmed")

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # users enrol their own devices

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def delete_model(self, request: HttpRequest, obj: Any) -> None:
        user = obj.user
        super().delete_model(request, obj)
        services.user_sessions_end(user=user, request=request)

    def delete_queryset(self, request: HttpRequest, queryset: Any) -> None:
        owners = {device.user for device in queryset.select_related("user")}
        super().delete_queryset(request, queryset)
        for user in owners:
            services.user_sessions_end(user=user, request=request)


class VarnLogEntryAdmin(LogEntryAdmin):  # type: ignore[misc]
    """auditlog's own admin searches first and last names, which our users do not have."""

    search_fields = ["object_repr", "changes", "actor__email", "actor__display_name"]


admin.site.unregister(LogEntry)
admin.site.register(LogEntry, VarnLogEntryAdmin)
admin.site.register(TOTPDevice, _DeviceAdmin)
admin.site.register(BackupCodeDevice, _DeviceAdmin)


class _ReadOnlyAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    """Records that nobody may add, change or delete through the admin."""

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(AccessEntry)
class AccessEntryAdmin(_ReadOnlyAdmin):
    """Every decrypting read, for the auditor: who, what, why, when; never the content."""

    list_display = ("created_at", "actor", "purpose", "object_type", "object_id")
    list_filter = ("purpose", "object_type")
    search_fields = ("actor__email", "object_id")
    date_hierarchy = "created_at"


@admin.register(SecurityEvent)
class SecurityEventAdmin(_ReadOnlyAdmin):
    list_display = ("created_at", "kind", "user", "ip_address", "detail")
    list_filter = ("kind",)
    search_fields = ("user__email",)
    date_hierarchy = "created_at"
