"""/api/push: Web Push for this browser (spec M2): the server's public key, the browser's subscription, the
events to push and a test message. Subscriptions belong to the logged-in user."""

from __future__ import annotations

from fastapi import APIRouter, Request
from pydantic import BaseModel, ConfigDict, Field

from core.api.deps import ServicesDep
from core.notify.push import OWNER
from core.security.gate import USER_SCOPE_KEY

router = APIRouter(tags=["push"])


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


class PublicKey(BaseModel):
    public_key: str = Field(description="The VAPID public key, base64url: `applicationServerKey` for "
                                        "`pushManager.subscribe()`.")


class SubscriptionKeys(_Body):
    p256dh: str = Field(max_length=200, description="The browser's P-256 public key, base64url.")
    auth: str = Field(max_length=100, description="The browser's 16-byte auth secret, base64url.")


class SubscriptionIn(_Body):
    """What `PushSubscription.toJSON()` gives."""
    endpoint: str = Field(max_length=2048, description="The push service's URL for this browser (https).")
    expirationTime: float | None = None  # noqa: N815 - the browser's own name
    keys: SubscriptionKeys


class SubscriptionOut(BaseModel):
    endpoint: str
    user: str
    created_at: float


class SubscriptionRef(_Body):
    endpoint: str = Field(max_length=2048)


class Removed(BaseModel):
    removed: bool


class Preferences(BaseModel):
    approvals: bool = Field(description="A question, plan or permission waits.")
    finished: bool = Field(description="A job's turn finished.")
    failed: bool = Field(description="A job failed.")


class PreferencesIn(_Body):
    approvals: bool | None = None
    finished: bool | None = None
    failed: bool | None = None


class TestResult(BaseModel):
    sent: int = Field(description="How many of your devices' push services accepted the message.")


def _user(request: Request) -> str:
    return request.scope.get(USER_SCOPE_KEY) or OWNER


@router.get("/push/key", response_model=PublicKey)
async def push_key(services: ServicesDep) -> PublicKey:
    """The server's VAPID public key, to subscribe a browser with."""
    return PublicKey(public_key=services.push.keys.public_key)


@router.post("/push/subscriptions", response_model=SubscriptionOut, status_code=201)
async def subscribe(body: SubscriptionIn, request: Request, services: ServicesDep) -> SubscriptionOut:
    """Keep this browser's push subscription for the logged-in user (the same endpoint again replaces it)."""
    entry = services.push.store.add(_user(request), body.model_dump())
    return SubscriptionOut(endpoint=entry["endpoint"], user=entry["user"], created_at=entry["created_at"])


@router.delete("/push/subscriptions", response_model=Removed)
async def unsubscribe(body: SubscriptionRef, request: Request, services: ServicesDep) -> Removed:
    """Forget a subscription of the logged-in user, by its endpoint; `removed` is false when none was kept."""
    return Removed(removed=services.push.store.remove(body.endpoint, _user(request)))


@router.get("/push/preferences", response_model=Preferences)
async def preferences(request: Request, services: ServicesDep) -> Preferences:
    """Which events reach the logged-in user's devices (all of them unless turned off)."""
    return Preferences(**services.push.store.preferences(_user(request)))


@router.put("/push/preferences", response_model=Preferences)
async def set_preferences(body: PreferencesIn, request: Request, services: ServicesDep) -> Preferences:
    """Turn events on or off; the ones left out keep their setting."""
    changes = {k: v for k, v in body.model_dump().items() if v is not None}
    return Preferences(**services.push.store.set_preferences(_user(request), changes))


@router.post("/push/test", response_model=TestResult)
async def send_test(request: Request, services: ServicesDep) -> TestResult:
    """Send a test notification to every device of the logged-in user (400 when none is subscribed)."""
    return TestResult(sent=await services.push.send_test(_user(request)))
