"""The ``PersonalDataCipher`` dependency: the key ring loaded once per container, a FieldCipher per worker."""

from __future__ import annotations

from nameko.extensions import DependencyProvider

from redprop.config import settings_from_config
from redprop.privacy.cipher import FieldCipher
from redprop.privacy.keys import key_ring


class PersonalDataCipher(DependencyProvider):
    def setup(self):
        # A missing or wrong key stops start-up (ConfigError naming the privacy setting), not the first read.
        self.cipher = FieldCipher(key_ring(settings_from_config(self.container.config)))

    def get_dependency(self, worker_ctx) -> FieldCipher:
        return self.cipher
