"""Encrypted model fields that any model can use, on top of per-record data keys.

A model opts in by subclassing ``EncryptedModel`` and declaring ``EncryptedTextField``s.
Each record gets its own data key (``security_core.DataKey``) on first save; each field is
sealed under it with associated data naming model, field and record, so the binding exists
before insert (records have their id before they are saved).

Invariants:
- The database only ever holds ciphertext for these fields; ``value_from_object`` (used by
  serializers, ``model_to_dict`` and forms) returns the ciphertext too, so ``dumpdata`` and
  admin forms cannot leak plaintext. The fields are not editable, so no ModelForm shows them.
- Plaintext lives only on the instance, decrypted on first access, and is dropped when the
  instance is pickled.
- Values are padded to 64-byte blocks before sealing, so a ciphertext's length does not
  tell short values apart (models store unanswered optional fields as encrypted "" rather
  than NULL, so whether a question was answered does not show either).
- Deleting a record deletes its data key (crypto-shredding): copies of the row in backups
  then no longer open, once the backups of the key table age out too.
"""

from __future__ import annotations

from typing import Any

from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from django.db import models
from django.db.models.signals import post_delete
from django.dispatch import receiver

from security_core import crypto

_PLAIN = "_varn_plaintext"
_DIRTY = "_varn_dirty"
_KEY = "_varn_data_key"
_AEAD = "_varn_aead"


class EncryptedTextField(models.BinaryField):  # type: ignore[type-arg]
    """Text stored as AES-256-GCM ciphertext under the record's data key.

    Reading the attribute gives the plaintext ``str`` (or ``None``); assigning a ``str``
    marks it for sealing on the next save. Bytes assigned (as Django does when loading a
    row) are taken as the stored ciphertext.
    """

    description = "Text encrypted under the record's data key"

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("null", True)
        kwargs.setdefault("blank", True)
        kwargs["editable"] = False
        super().__init__(*args, **kwargs)

    def deconstruct(self) -> Any:
        name, path, args, kwargs = super().deconstruct()
        kwargs.pop("editable", None)
        return name, path, args, kwargs

    def contribute_to_class(self, cls: Any, name: str, private_only: bool = False) -> None:
        super().contribute_to_class(cls, name, private_only)
        setattr(cls, self.attname, _EncryptedAttribute(self))

    def pre_save(self, model_instance: Any, add: bool) -> Any:
        dirty: set[str] = model_instance.__dict__.get(_DIRTY, set())
        if self.attname in dirty:
            plaintext = model_instance.__dict__[_PLAIN][self.attname]
            blob = (
                None if plaintext is None else model_instance.seal_encrypted(self.name, plaintext)
            )
            model_instance.__dict__[self.attname] = blob
            dirty.discard(self.attname)
        return model_instance.__dict__.get(self.attname)

    def value_from_object(self, obj: Any) -> Any:
        return obj.__dict__.get(self.attname)


class _EncryptedAttribute:
    def __init__(self, field: EncryptedTextField) -> None:
        self.field = field

    def __get__(self, instance: Any, owner: Any = None) -> Any:
        if instance is None:
            return self
        name = self.field.attname
        plain: dict[str, str | None] = instance.__dict__.setdefault(_PLAIN, {})
        if name in plain:
            return plain[name]
        if name not in instance.__dict__:  # deferred by .only()/.defer(): load the ciphertext
            raw = (
                type(instance)
                ._base_manager.filter(pk=instance.pk)
                .values_list(name, flat=True)
                .get()
            )
            instance.__dict__[name] = None if raw is None else bytes(raw)
        blob = instance.__dict__.get(name)
        value = None if blob is None else instance.open_encrypted(self.field.name, bytes(blob))
        plain[name] = value
        return value

    def __set__(self, instance: Any, value: Any) -> None:
        name = self.field.attname
        plain = instance.__dict__.setdefault(_PLAIN, {})
        dirty = instance.__dict__.setdefault(_DIRTY, set())
        if isinstance(value, (bytes, bytearray, memoryview)):
            instance.__dict__[name] = bytes(value)  # ciphertext, as loaded from the database
            plain.pop(name, None)
            dirty.discard(name)
        elif value is None or isinstance(value, str):
            plain[name] = value
            dirty.add(name)
            # Present in __dict__, so Django does not take the field for a deferred one.
            instance.__dict__.setdefault(name, None)
        else:
            raise TypeError(f"{self.field.name} takes text, not {type(value).__name__}.")


class EncryptedModel(models.Model):
    """Base for models with encrypted fields: one data key per record."""

    data_key = models.OneToOneField(
        "security_core.DataKey", on_delete=models.PROTECT, editable=False, related_name="+"
    )

    class Meta:
        abstract = True

    def __getstate__(self) -> dict[str, Any]:
        state: dict[str, Any] = super().__getstate__()
        for private in (_PLAIN, _DIRTY, _KEY, _AEAD):
            state.pop(private, None)
        return state

    def save(self, *args: Any, **kwargs: Any) -> None:
        if self.data_key_id is None:
            self._plain_data_key()  # a new record gets its data key before its first insert
        super().save(*args, **kwargs)

    def encryption_binding(self) -> str:
        """What a field's ciphertext is bound to besides model and field: the record's id."""
        return str(self.pk)

    def _field_aad(self, field_name: str) -> bytes:
        return crypto.field_aad(self._meta.label_lower, field_name, self.encryption_binding())

    def _plain_data_key(self) -> bytes:
        key: bytes | None = self.__dict__.get(_KEY)
        if key is None:
            if self.data_key_id is None:
                from security_core.models import DataKey

                record, key = DataKey.issue()
                self.data_key = record
            else:
                key = self.data_key.unwrap()
            self.__dict__[_KEY] = key
        return key

    def _aead(self) -> AESGCM:
        aead: AESGCM | None = self.__dict__.get(_AEAD)
        if aead is None:
            aead = self.__dict__[_AEAD] = AESGCM(self._plain_data_key())
        return aead

    def seal_encrypted(self, field_name: str, plaintext: str) -> bytes:
        return crypto.seal_field(
            self._aead(),
            crypto.pad(plaintext.encode()),
            aad=self._field_aad(field_name),
        )

    def open_encrypted(self, field_name: str, blob: bytes) -> str:
        raw = crypto.open_field(self._aead(), blob, aad=self._field_aad(field_name))
        return crypto.unpad(raw).decode()


@receiver(post_delete)
def shred_data_key(sender: Any, instance: Any, **kwargs: Any) -> None:
    """Deleting an encrypted record deletes its data key with it (crypto-shredding)."""
    if isinstance(instance, EncryptedModel) and instance.data_key_id is not None:
        from security_core.models import DataKey

        DataKey.objects.filter(pk=instance.data_key_id).delete()
