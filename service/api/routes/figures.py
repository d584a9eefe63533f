"""The insurer's figures (service.domain.figures): automation against the insurtech plan's
targets, loss ratio, capital, exposure per covered service, verified outage to payout."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Query
from pydantic import BaseModel, Field

from service.api.deps import Anyone, GatewayDep, IndexerDep, SessionDep
from service.api.errors import responses
from service.domain import figures
from service.errors import NotFound

router = APIRouter(prefix="/v1/figures", tags=["figures"])
TenantId = Annotated[str | None, Query(min_length=1, max_length=32, pattern=r"^[0-9A-Za-z_-]+$",
                                       description="Insurer staff: one tenant's figures; others: their own only")]
Ratio = Annotated[str | None, Field(pattern=r"^-?[0-9]+\.[0-9]{6}$", description=(
    "A decimal string, 6 places, rounded half to even from the exact fraction; null when its denominator is 0"))]


class UnderwritingOut(BaseModel):
    quotes: int = Field(description="Every quote in scope, declined ones included")
    automatic: int = Field(description="Asked for with a distributor key (the platform's integration) and decided "
                           "by the rating engine alone")
    person: int = Field(description="Asked for with a key of a person's role (underwriter, admin)")
    unattributed: int = Field(description="Quoted before the role was recorded (migration 0018): in neither side")
    automation: Ratio = Field(description="automatic ÷ (automatic + person)")
    target: str = Field(description="The plan's underwriting automation target (strictly above)")
    meets_target: bool | None


class ClaimsOut(BaseModel):
    paid_amount: int = Field(description="Every payout (PayoutSent, sent or credited), token minor units")
    paid_count: int
    automatic_amount: int = Field(description="Paid at once by settlement, without review")
    automatic_count: int
    reviewed_amount: int = Field(description="Paid on a claim the claims role approved (in part or whole)")
    reviewed_count: int
    lapsed_amount: int = Field(description="Paid on a claim nobody decided before its deadline")
    lapsed_count: int
    automation_by_amount: Ratio = Field(description="automatic_amount ÷ paid_amount")
    automation_by_count: Ratio = Field(description="automatic_count ÷ paid_count")
    target: str = Field(description="The plan's claims automation target (strictly above)")
    meets_target_by_amount: bool | None
    meets_target_by_count: bool | None


class LossOut(BaseModel):
    policies: int
    written_premium: int = Field(description="Σ premium of every policy in scope")
    refunds: int = Field(description="Σ cancellation refunds")
    earned_premium: int = Field(description="Σ premium × elapsed ÷ cover length at as_of (cancelled: premium − "
                                "refund), rounded down; loss_ratio uses the exact sum")
    paid: int
    loss_ratio: Ratio = Field(description="paid ÷ earned premium")


class CapitalOut(BaseModel):
    scope: Literal["pool", "tenant"]
    assets: int | None = Field(description="CoverPool totalAssets (pool scope only)")
    free: int | None = Field(description="CoverPool freeCapital (pool scope only)")
    owed: int | None = Field(description="CoverPool owedCapital: payouts credited, not yet claimed (pool scope only)")
    locked: int = Field(description="Pool: lockedCapital; tenant: Σ (limit − paid) of its live covers")
    utilisation: Ratio = Field(description="locked ÷ (pool free + pool locked)")


class ExposureOut(BaseModel):
    service_id: str
    policies: int = Field(description="Live (active) covers")
    exposure: int = Field(description="Σ limit (what PolicyBook.serviceExposure counts)")
    at_risk: int = Field(description="Σ (limit − paid): what they can still pay")


class DelayOut(BaseModel):
    payouts: int = Field(description="Payouts measured")
    unattributed: int = Field(description="Payouts no verified episode of their cover was found for")
    p50_seconds: int | None = Field(description="Nearest rank: the ⌈0.5·n⌉-th smallest, block time seconds")
    p95_seconds: int | None = Field(description="The ⌈0.95·n⌉-th smallest")
    max_seconds: int | None


class ScopeOut(BaseModel):
    underwriting: UnderwritingOut
    claims: ClaimsOut
    loss: LossOut
    capital: CapitalOut
    exposure: list[ExposureOut] = Field(description="Per covered service, by service id")
    outage_to_payout: DelayOut


class TenantFiguresOut(ScopeOut):
    tenant_id: str
    name: str


class FiguresOut(ScopeOut):
    as_of_block: int = Field(description="The projection's block every figure describes (CoverPool read there too)")
    as_of: int = Field(description="Its block time (unix seconds): the clock of the earned premium")
    tenant_id: str | None = Field(description="The tenant the figures are of; null: overall")
    targets_source: str = Field(description="Where the automation targets come from")
    tenants: list[TenantFiguresOut] | None = Field(
        description="Insurer staff, no tenant_id: every tenant's figures (capital in tenant scope); else null")


@router.get("", response_model=FiguresOut, responses=responses(404, 503), description=(
    "Insurer staff: overall, with every tenant's figures, or one tenant's with `tenant_id`. Any other key: its "
    "own tenant's (another tenant_id is a 404). See README, \"The insurer's figures\", for what each counts."))
def get_figures(session: SessionDep, gw: GatewayDep, indexer: IndexerDep, principal: Anyone,
                tenant_id: TenantId = None) -> FiguresOut:
    if principal.scoped:
        if tenant_id is not None and tenant_id != principal.tenant_id:
            raise NotFound(f"no tenant {tenant_id}")
        tenant_id = principal.tenant_id
    data = figures.answer(session, gw, indexer.block(), tenant_id=tenant_id, breakdown=not principal.scoped)
    return FiguresOut.model_validate(data)
