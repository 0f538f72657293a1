"""Who owns the stack and what it is: environment, ownership tags, the DR region."""
from __future__ import annotations

from dataclasses import dataclass

from leadgen.config.base import Key, Values
from leadgen.config.validate import region_error, tag_value_error
from leadgen.naming import required_tags

ENVIRONMENTS = ("production", "staging", "dev")

KEYS = [
    Key(path="environment", type="string", default="dev", description="Environment class of the stack; production turns on "
        "Multi-AZ, protection and the stricter Pod Security profile.", choices=ENVIRONMENTS),
    Key(path="owner", type="string", default="platform-team@insurance-lead-gen.com",
        description="Owning team, written to the `owner` tag of every AWS resource."),
    Key(path="costCenter", type="string", default="leadgen-platform",
        description="Cost center, written to the `cost-center` tag of every AWS resource."),
    Key(path="drRegion", type="string", default="us-west-2",
        description="Disaster-recovery region: automated RDS backups are replicated there in production."),
]


@dataclass(frozen=True, kw_only=True)
class Core:
    environment: str
    owner: str
    cost_center: str
    region: str
    dr_region: str

    @property
    def is_production(self) -> bool:
        return self.environment == "production"

    @property
    def tags(self) -> dict[str, str]:
        return required_tags(self.environment, self.owner, self.cost_center)


def build(values: Values, region: str) -> Core:
    owner = values.get("owner")
    if not owner.strip():
        raise values.error("owner", "must not be empty")
    # Both become tag values on every AWS resource.
    for key in ("owner", "costCenter"):
        why = tag_value_error(values.get(key))
        if why:
            raise values.error(key, why)
    if not values.get("costCenter").strip():
        raise values.error("costCenter", "must not be empty")
    dr = values.get("drRegion")
    why = region_error(dr)
    if why:
        raise values.error("drRegion", why)
    if dr == region:
        raise values.error("drRegion", f"({dr}) must differ from aws:region")
    return Core(environment=values.get("environment"), owner=owner, cost_center=values.get("costCenter"),
                region=region, dr_region=dr)
