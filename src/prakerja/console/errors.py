"""The refusals of operator administration, with stable codes."""

from prakerja.common.errors import Conflict, NotFound, ValidationFailed


class RoleUnknown(ValidationFailed):
    code = "ROLE_UNKNOWN"
    message_id = "Peran tidak dikenal: {roles}. Peran yang ada: {known}."
    message_en = "Unknown role: {roles}. The roles are: {known}."


class RolesIncompatible(Conflict):
    code = "ROLES_INCOMPATIBLE"
    message_id = (
        "Peran ini tidak boleh dipegang bersamaan: {pairs}. Pembuat dan pemeriksa keuangan "
        "harus orang yang berbeda, dan auditor tidak memegang peran lain."
    )
    message_en = (
        "These roles may not be held together: {pairs}. The finance maker and checker must be "
        "different people, and an auditor holds no other role."
    )


class RolesSelfChange(Conflict):
    code = "ROLES_SELF_CHANGE"
    message_id = "Anda tidak dapat mengubah peran Anda sendiri. Minta admin lain melakukannya."
    message_en = "You cannot change your own roles. Ask another admin to do it."


class OperatorUnknown(NotFound):
    code = "OPERATOR_UNKNOWN"
    message_id = "Tidak ada operator dengan nama pengguna {username}."
    message_en = "There is no operator with the username {username}."
