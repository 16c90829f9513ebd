"""The detector catalogue: one detector a file; this list is the registry."""

from .balance_equality import BalanceEquality
from .caller_controlled_send import CallerControlledSend
from .constant_condition import ConstantCondition
from .divide_before_multiply import DivideBeforeMultiply
from .front_running import FrontRunning
from .ignored_call_result import IgnoredCallResult
from .late_cover import LateCover
from .locked_funds import LockedFunds
from .loop_gas import LoopGas
from .missing_event import MissingEvent
from .origin_auth import OriginAuth
from .replayable_signature import ReplayableSignature
from .send_in_loop import SendInLoop
from .shadowed_state import ShadowedState
from .signature_binding import SignatureBinding
from .timestamp_equality import TimestampEquality
from .uninitialized_state import UninitializedState
from .unprotected_funds import UnprotectedFunds
from .unprotected_role_change import UnprotectedRoleChange
from .unused_function import UnusedFunction
from .unused_state import UnusedState
from .weak_randomness import WeakRandomness
from .write_after_call import WriteAfterCall

DETECTORS = [
    UnprotectedFunds,
    UnprotectedRoleChange,
    CallerControlledSend,
    ReplayableSignature,
    OriginAuth,
    WriteAfterCall,
    IgnoredCallResult,
    WeakRandomness,
    DivideBeforeMultiply,
    BalanceEquality,
    SendInLoop,
    LockedFunds,
    LoopGas,
    TimestampEquality,
    MissingEvent,
    UninitializedState,
    UnusedState,
    ConstantCondition,
    ShadowedState,
    UnusedFunction,
    FrontRunning,
    SignatureBinding,
    LateCover,
]
