"""The simulator's errors: every refusal the simulated Asterisk answers, with its status and wording.

Its one job is to name each error once, with the HTTP status and the exact ``{"message": ...}``
wording Asterisk 22's ``resource_*.c`` answers (see the facts in the project's
asterisk-behaviour notes), so that a handler or an engine says ``raise ChannelNotFound()``
instead of repeating a status and a sentence.  It also carries Asterisk's reason phrases per
status (``REASONS``), used by the RESTResponse framing and the rendered Swagger documents.
It must not import anything: models, engines, handlers and the server all import it.

``SimError`` is the simulator's own root, deliberately unlike ``ari.ARIError`` (the
*client's* exceptions): a ``SimError`` never leaves the simulator, the server turns it into an
answer.  The tree::

    SimError                      any refusal: ``status`` and ``message``
    ├── InvalidRequest            400: the request itself is wrong
    ├── NoSuchResource            404: what the request names does not exist
    ├── StateConflict             409: it exists, but not in a state that allows this
    └── Unprocessable             422: a resource the request refers to is unfit

Errors whose wording names a value take it as arguments (``BridgeExists("b1")``).
"""

from __future__ import annotations

from typing import Optional

#: Asterisk's reason phrases (ast_ari_response_* and its handlers), by status.
REASONS = {
    200: "OK",
    201: "Created",
    202: "Accepted",
    204: "No Content",
    400: "Bad Request",
    401: "Unauthorized",
    403: "Forbidden",
    404: "Not Found",
    405: "Method Not Allowed",
    409: "Conflict",
    412: "Precondition Failed",
    413: "Request Entity Too Large",
    422: "Unprocessable Entity",
    500: "Internal Server Error",
    501: "Not Implemented",
    503: "Service Unavailable",
}


class SimError(Exception):
    """Ends a request with ``status`` and the body ``{"message": message}``."""

    status = 500
    message = "Internal server error"
    key = "message"  # the answer body's one key

    def __init__(self, message: Optional[str] = None) -> None:
        if message is not None:
            self.message = message
        super().__init__(f"{self.status} {self.message}")


class InvalidRequest(SimError):
    status = 400


class NoSuchResource(SimError):
    status = 404


class StateConflict(SimError):
    status = 409


class Unprocessable(SimError):
    status = 422


# -- 400 --------------------------------------------------------------------------------------


class MissingParameter(InvalidRequest):
    """A required parameter is absent; the handler gives Asterisk's sentence for it."""


class NotAnInteger(InvalidRequest):
    def __init__(self, name: str) -> None:
        super().__init__(f"{name} must be an integer")


class InvalidVariables(InvalidRequest):
    message = "Invalid variables"


class VariablesRequired(InvalidRequest):
    message = "Variables parameter is required"


class InvalidEndpoint(InvalidRequest):
    message = "Invalid endpoint specified"


class EndpointNotProvided(InvalidRequest):
    message = "Endpoint parameter not provided"


class UnreachableEndpoint(InvalidRequest):
    """The description's answer for an endpoint no channel driver can reach."""

    message = "Invalid parameters for originating a channel."


class AppExclusive(InvalidRequest):
    message = "Option 'app' is mutually exclusive with 'extension', 'context', 'priority' and 'label'"


class AppOrExtensionRequired(InvalidRequest):
    message = "Application or extension must be specified"


class InvalidHangupReason(InvalidRequest):
    message = "Invalid reason for hangup provided"


class DtmfRequired(InvalidRequest):
    message = "DTMF is required"


class InvalidDtmf(InvalidRequest):
    message = "Invalid DTMF"


class SpyOrWhisperRequired(InvalidRequest):
    message = "Direction must be specified for at least spy or whisper"


class ExternalHostRequired(InvalidRequest):
    message = "external_host is required for all but websocket server connections"


class WebSocketNeedsNoEncapsulation(InvalidRequest):
    message = "encapsulation must be 'none' for websocket transport"


class RtpNeedsUdp(InvalidRequest):
    message = "transport must be 'udp' for rtp encapsulation"


class ServerNeedsWebSocket(InvalidRequest):
    message = "'server' connection_type can only be used with the websocket transport"


class UnknownWebSocketClient(InvalidRequest):
    message = "external_host must be a valid websocket_client connection id."


class ExternalHostNotHostPort(InvalidRequest):
    message = "external_host must be <host>:<port> for all transports other than websocket"


class InvalidMediaDirection(InvalidRequest):
    message = "Invalid direction specified"


class CodecNotSimulated(InvalidRequest):
    """The simulator's own limit: its media WebSocket carries the codecs ``ari.media`` knows."""

    def __init__(self, codec: str) -> None:
        super().__init__(f"format '{codec}' is not carried by the simulator's media WebSocket")


class InvalidTransferStates(InvalidRequest):
    message = "Invalid states value"


class ReasonAndCode(InvalidRequest):
    message = "The reason and reason_code can't both be specified"


class AudioSocketNeedsTcp(InvalidRequest):
    message = "transport must be 'tcp' for audiosocket encapsulation"


class AllocationFailed(SimError):
    """Originate to a technology no channel driver has: Asterisk answers with an "error" key."""

    status = 500
    message = "Allocation failed"
    key = "error"


class FunctionNotReadable(SimError):
    """getChannelVar of a dialplan function Asterisk does not have."""

    status = 500
    message = "Unable to read provided function"


class RecordingNameMissing(SimError):
    """A bridge recording without a name: the glue lets it through, the recording options
    then fail to build (resource_bridges.c), after the recorder joined the bridge."""

    status = 500
    message = "Error parsing request"


class UnknownCodec(SimError):
    """externalMedia's format names no codec: Asterisk fails inside and says only that."""

    status = 500
    message = "An internal error prevented this request from being handled"

    def __init__(self, codec: str) -> None:
        super().__init__()
        self.codec = codec


class BridgeNotCreated(SimError):
    """A bridge type Asterisk cannot build (unknown, or dtmf_events / proxy_media /
    video_single without mixing or holding): a 500 worded as a duplicate id."""

    status = 500

    def __init__(self, bridge_id: str) -> None:
        super().__init__(f"Unable to create bridge. Possible duplicate bridge id '{bridge_id}'")


class MemberNotFound(InvalidRequest):
    """addChannel / removeChannel name a channel that does not exist (a 400 there)."""

    message = "Channel not found"


class MediaRequired(InvalidRequest):
    message = "media parameter is required"


class NegativeLimit(InvalidRequest):
    def __init__(self, name: str) -> None:
        super().__init__(f"{name} cannot be negative")


class InvalidPlaybackOperation(InvalidRequest):
    def __init__(self, operation: str) -> None:
        super().__init__(f"Invalid operation {operation}")


class InvalidEventSource(InvalidRequest):
    def __init__(self, source: str) -> None:
        super().__init__("Invalid event source URI scheme")
        self.source = source


class InvalidEventFilter(InvalidRequest):
    message = "Invalid format for event filter"


class InvalidConfigBody(InvalidRequest):
    message = "Bad request body"


class InvalidMessageParameters(InvalidRequest):
    message = "Invalid parameters for sending a message."


# -- 404 --------------------------------------------------------------------------------------


class LabelNotFound(NoSuchResource):
    message = "Requested label can not be found"


class ChannelNotFound(NoSuchResource):
    message = "Channel not found"


class BridgeNotFound(NoSuchResource):
    message = "Bridge not found"


class PlaybackNotFound(NoSuchResource):
    message = "Playback not found"


class RecordingNotFound(NoSuchResource):
    message = "Recording not found"


class ApplicationNotFound(NoSuchResource):
    message = "Application not found"


class NoSoundsMatched(NoSuchResource):
    message = "No sounds found that matched the query"


class SoundNotFound(NoSuchResource):
    message = "Sound not found"


class EndpointNotFound(NoSuchResource):
    message = "Endpoint not found"


class NoEndpointsForTech(NoSuchResource):
    def __init__(self, tech: str) -> None:
        super().__init__(f"No Endpoints found - invalid tech {tech}")


class MailboxNotFound(NoSuchResource):
    """Asterisk's get says "is does not exist" (sic); delete drops the "is"."""

    message = "Mailbox is does not exist"


class MailboxNotDeleted(NoSuchResource):
    message = "Mailbox does not exist"


class VariableNotFound(NoSuchResource):
    message = "Provided variable was not found"


class DeviceNameMissing(NoSuchResource):
    message = "Device name is missing"


class ModuleNotRunning(NoSuchResource):
    """unloadModule / reloadModule of a module that is not loaded."""

    message = "Module not found in running modules"


class ModuleNotFound(NoSuchResource):
    """getModule's wording (resource_asterisk.c words it differently from unload and reload)."""

    message = "Module could not be found in running modules"


class LogChannelNotFound(NoSuchResource):
    message = "Log channel does not exist"


class ConfigTypeNotFound(NoSuchResource):
    def __init__(self, config_class: str, object_type: str) -> None:
        super().__init__(f"Unable to retrieve object type '{object_type}' of configuration class '{config_class}'")


class ConfigClassNotFound(NoSuchResource):
    def __init__(self, config_class: str) -> None:
        super().__init__(f"configClass '{config_class}' not found")


class ConfigObjectNotFound(NoSuchResource):
    def __init__(self, object_id: str) -> None:
        super().__init__(f"Object '{object_id}' not found")


class ProvidedChannelNotFound(NoSuchResource):
    """getChannelVar and snoop word an unknown channel their own way."""

    message = "Provided channel was not found"


class RtpInfoNotFound(NoSuchResource):
    message = "RTP info not found"


class UnsupportedChannelType(SimError):
    """rtp_statistics of a channel with no RTP (Local, Snoop...)."""

    status = 403
    message = "Unsupported channel type"


class ChannelNotInBroadcast(NoSuchResource):
    message = "Channel not found or not in broadcast state"


# -- 409 --------------------------------------------------------------------------------------


class ChannelNotInStasis(StateConflict):
    message = "Channel not in Stasis application"


class ChannelExists(StateConflict):
    message = "Channel with given unique ID already exists"


class ChannelNotDown(StateConflict):
    message = "Channel is not in the 'Down' state"


class ChannelNotDialable(StateConflict):
    message = "Channel cannot be dialed."


class ChannelBridged(StateConflict):
    message = "Channel is currently bridged"


class ChannelRecording(StateConflict):
    message = "Channel currently recording"


class BridgeExists(StateConflict):
    def __init__(self, bridge_id: str) -> None:
        super().__init__(f"Bridge with id '{bridge_id}' already exists")


class PlaybackExists(StateConflict):
    message = "A playback with the same id already exists"


class PlaybackNotControllable(StateConflict):
    message = "Playback not in a state to be controlled"


class PauseNotPlaying(StateConflict):
    """pause of a playback still queued behind another."""

    message = "Can only pause while media is playing"


class RecordingExists(StateConflict):
    def __init__(self, name: str) -> None:
        super().__init__(f"Recording '{name}' already exists and can not be overwritten")


class StoredRecordingExists(StateConflict):
    message = "A recording with the same name already exists on the system"


class RecordingNotInSession(StateConflict):
    message = "Recording not in session"


class ModuleNotLoadable(StateConflict):
    """A module Asterisk does not have."""

    message = "Module load declined"


class ModuleAlreadyLoaded(StateConflict):
    message = "Module is already loaded"


class LogChannelNotCreated(StateConflict):
    message = "Log channel already exists"


class UncontrolledDevice(StateConflict):
    message = "Uncontrolled device specified"


class NotSubscribed(Unprocessable):
    """unsubscribe of a source the app does not hold, or that does not exist."""

    message = "Event source was not subscribed to"


# -- 422 --------------------------------------------------------------------------------------


class ChannelNotInBridge(Unprocessable):
    message = "Channel not in this bridge"


class MemberNotInStasis(Unprocessable):
    """addChannel of a channel outside Stasis (a 422 there, a 409 elsewhere)."""

    message = "Channel not in Stasis application"


class UnknownAnnouncerFormat(Unprocessable):
    def __init__(self, fmt: str) -> None:
        super().__init__(f"Requested announcer format '{fmt}' is unknown")


class UnknownRecordingFormat(Unprocessable):
    message = "specified format is unknown on this system"

    def __init__(self, fmt: str) -> None:
        super().__init__()
        self.format = fmt


class EndpointTechnologyMismatch(Unprocessable):
    def __init__(self, tech: str, channel_tech: str) -> None:
        super().__init__(f"Endpoint technology '{tech}' does not match channel technology '{channel_tech}'")


class EventSourceMissing(Unprocessable):
    message = "Event source does not exist"


class SourceChannelNotFound(Unprocessable):
    """A user event's ``source`` names an unknown channel."""

    message = "Event source was not found"


class SourceBridgeNotFound(Unprocessable):
    message = "Bridge not found"


class SourceEndpointNotFound(Unprocessable):
    message = "Endpoint not found"
