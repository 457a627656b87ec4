"""factory_boy factories shared by the whole suite."""

from __future__ import annotations

import factory

from security_core.models import User
from security_core.roles import Role

PASSWORD = "Correct-Horse-Battery-Staple-42"


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User
        skip_postgeneration_save = True

    email = factory.Sequence(lambda n: f"person{n}@example.se")
    display_name = factory.Faker("name", locale="sv_SE")
    role = Role.REPORTER
    password = factory.PostGenerationMethodCall("set_password", PASSWORD)

    @factory.post_generation
    def _save(self, create: bool, extracted: object, **kwargs: object) -> None:
        if create:
            self.save()
