"""A cache of the registry's answers on the intake path (where is this building? does this resident exist?).

Every submit needs both; the answers change only when the district's structure changes. Each replica
keeps its own cache and empties it when the registry announces a change (``registry.structure_changed``,
delivered to every replica); entries also expire after ``ttl`` seconds, in case an announcement is
missed while the broker connection was down.
"""

from redprop.cache import ExpiringCache as PlaceCache

__all__ = ["PlaceCache"]
