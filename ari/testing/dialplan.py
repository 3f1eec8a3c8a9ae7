"""The far ends of the simulator's outgoing calls: who answers a dialled endpoint, and how.

Its one job is to map an endpoint string (``Local/echo@default``, ``PJSIP/1000``) to a
``FarEnd`` behaviour: ring time, answer or fail (with an ISDN cause), whether it makes
sound, echoes DTMF, sends DTMF or hangs up by itself.  It must not touch channels or
events: the state model reads a ``FarEnd`` and acts on it.
"""

from __future__ import annotations

import fnmatch
from dataclasses import dataclass
from typing import Dict, Iterable, List, Optional, Tuple, Union

# ISDN hangup causes Asterisk uses (ast_cause2str wording).
CAUSES: Dict[int, str] = {
    0: "Unknown",
    1: "Unallocated (unassigned) number",
    3: "No route to destination",
    16: "Normal Clearing",
    17: "User busy",
    18: "No user responding",
    19: "User alerting, no answer",
    20: "Subscriber absent",
    21: "Call Rejected",
    26: "Answered elsewhere",
    27: "Destination out of order",
    28: "Invalid number format (incomplete number)",
    31: "Normal, unspecified",
    34: "Circuit/channel congestion",
    38: "Network out of order",
    41: "Temporary failure",
    58: "Bearer capability not available",
    127: "Interworking, unspecified",
}

# DELETE /channels/{id}?reason=... -> cause (res/ari/resource_channels.c).
HANGUP_REASONS: Dict[str, int] = {
    "normal": 16,
    "busy": 17,
    "congestion": 34,
    "no_answer": 19,
    "timeout": 18,
    "rejected": 21,
    "unallocated": 1,
    "normal_unspecified": 31,
    "number_incomplete": 28,
    "codec_mismatch": 58,
    "interworking": 127,
    "failure": 38,
    "answered_elsewhere": 26,
}

# Dial event dialstatus for a failed dial's cause.
DIALSTATUS: Dict[int, str] = {17: "BUSY", 19: "NOANSWER", 34: "CONGESTION", 21: "BUSY"}


def cause_txt(cause: int) -> str:
    return CAUSES.get(cause, "Unknown")


@dataclass(frozen=True)
class FarEnd:
    """How the far end of a dialled call behaves.

    ``ring``: simulated seconds of ringing before it answers (or fails);
    ``answer``: False = it never answers (the dial fails with ``cause`` once ``ring`` has
    passed, or at the originate timeout when ``ring`` is None);
    ``sound``: it sends audio (music on hold, a talker): a recording of the leg holds sound;
    ``echo``: it sends back audio and DTMF it receives;
    ``dtmf``: digits it sends after answering (``dtmf_gap`` apart), e.g. an IVR tester;
    ``hangup_after``: seconds after answering at which it hangs up with ``cause``;
    ``steps``: for a ``Local/<exten>@<context>`` far end, the dialplan applications its ;2
    half runs, as ``(app, data)`` by priority (ChannelDialplan events name them).
    ``audio``: what it sends into a bridge with an externalMedia channel: ``tone:<Hz>`` or the
    path of a mono 16-bit WAV (played in a loop); otherwise music when ``sound``, nothing when silent.
    """

    ring: Optional[float] = 1.0
    answer: bool = True
    cause: int = 16
    sound: bool = False
    echo: bool = False
    dtmf: str = ""
    dtmf_gap: float = 0.25
    hangup_after: Optional[float] = None
    steps: Tuple[Tuple[str, str], ...] = ()
    audio: Optional[str] = None


# The far ends of the project's test Asterisk (its extensions.conf, context "default").
ECHO = FarEnd(ring=0.0, echo=True, steps=(("Answer", ""), ("Echo", "")))
WAIT = FarEnd(ring=0.0, steps=(("Answer", ""), ("Wait", "3600")))
HELLO = FarEnd(ring=0.0, steps=(("Answer", ""), ("Playback", "hello-world"), ("Wait", "3600")))
DTMF = FarEnd(
    ring=0.0, dtmf="123#", dtmf_gap=0.35, steps=(("Answer", ""), ("Wait", "1"), ("SendDTMF", "123#"), ("Wait", "3600"))
)
MOH = FarEnd(ring=0.0, sound=True, steps=(("Answer", ""), ("MusicOnHold", "default")))
BUSY = FarEnd(ring=0.0, answer=False, cause=17, steps=(("Busy", "10"),))
NOANSWER = FarEnd(ring=None, answer=False, cause=19, steps=(("Wait", "3600"),))
PHONE = FarEnd(ring=1.0)
#: A ``Local/<exten>`` with no such extension: chan_local accepts it, the call then fails.
NO_EXTENSION = FarEnd(ring=0.0, answer=False, cause=0)

#: The dialplan steps of an extension that hands the call to an application:
#: ``app-<name>`` (NoOp, then Stasis(<name>)) and ``1000`` (Stasis(test-app)).
STASIS_PRIORITY = 2

FarEndSpec = Union[FarEnd, str]


class UnknownEndpoint(LookupError):
    """Nothing answers for this endpoint: the originate request itself fails."""


class Dialplan:
    """Far ends by endpoint: built-in ``Local/<exten>@default`` and ``PJSIP/<name>`` rules,
    plus the user's, which win (most recently added first)."""

    def __init__(self, pjsip_endpoints: Iterable[str]) -> None:
        self.pjsip_endpoints: List[str] = list(pjsip_endpoints)
        self.local: Dict[Tuple[str, str], FarEnd] = {
            ("echo", "default"): ECHO,
            ("wait", "default"): WAIT,
            ("moh", "default"): MOH,
            ("busy", "default"): BUSY,
            ("noanswer", "default"): NOANSWER,
            ("hello", "default"): HELLO,
            ("dtmf", "default"): DTMF,
        }
        self.user: List[Tuple[str, FarEnd]] = []

    def add_far_end(self, pattern: str, behaviour: FarEndSpec) -> None:
        """Register ``behaviour`` for endpoints matching ``pattern`` (exact or fnmatch glob).

        ``behaviour`` is a ``FarEnd`` or the name of a built-in one ("echo", "wait", "moh",
        "busy", "noanswer", "hello", "dtmf", "phone").
        """
        if isinstance(behaviour, str):
            named = {
                "echo": ECHO,
                "wait": WAIT,
                "moh": MOH,
                "busy": BUSY,
                "noanswer": NOANSWER,
                "hello": HELLO,
                "dtmf": DTMF,
                "phone": PHONE,
            }
            if behaviour not in named:
                raise ValueError(f"unknown far end behaviour {behaviour!r}")
            behaviour = named[behaviour]
        self.user.insert(0, (pattern, behaviour))

    def far_end(self, endpoint: str) -> FarEnd:
        """The far end for ``endpoint`` (``TECH/resource``); raises UnknownEndpoint."""
        for pattern, behaviour in self.user:
            if endpoint == pattern or fnmatch.fnmatchcase(endpoint, pattern):
                return behaviour
        tech, _, resource = endpoint.partition("/")
        if tech == "Local":
            exten, _, context = resource.partition("@")
            exten = exten.split("/", 1)[0]  # Local/exten@context/n: the /n option
            found = self.local.get((exten, (context or "default").split("/", 1)[0]))
            if found is None:
                # chan_local accepts the request; the call then fails for want of the
                # extension (both halves destroyed, cause 0, no Dial event).
                return NO_EXTENSION
            return found
        if tech == "PJSIP" and resource in self.pjsip_endpoints:
            return PHONE
        raise UnknownEndpoint(endpoint)

    def stasis_app(self, context: str, exten: str) -> Optional[str]:
        """The application an extension hands its call to (``app-<name>``, ``1000``), if any."""
        if context != "default":
            return None
        if exten.startswith("app-") and len(exten) > 4:
            return exten[4:]
        return "test-app" if exten == "1000" else None

    def extension(self, context: str, exten: str) -> Optional[FarEnd]:
        """The behaviour of a far-end extension (``echo``, ``wait``...) run by a channel itself."""
        return self.local.get((exten, context))
