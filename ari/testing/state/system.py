"""The system-wide state that holds no call: modules, logs, variables, configuration, endpoints,
device states, mailboxes, application subscriptions and filters, user events.

Its one job is those tables and every change to them, with Asterisk 22's refusals (the named
errors of ``errors.py``) and events (TextMessageReceived, DeviceStateChanged,
ChannelUserevent).  It must not parse requests.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Dict, List, Optional, Set, Tuple

from .. import errors
from .objects import App

if TYPE_CHECKING:
    from .world import World

#: The schemes of an application's event sources (``channel:ID``, ``deviceState:NAME``...).
SOURCE_SCHEMES = ("channel", "bridge", "endpoint", "deviceState")
#: The ids an application subscribed to all lists for channels, bridges, endpoints, devices.
ALL_TOPICS = (
    "__AST_CHANNEL_ALL_TOPIC",
    "__AST_BRIDGE_ALL_TOPIC",
    "__AST_ENDPOINT_ALL_TOPIC",
    "__AST_DEVICE_STATE_ALL_TOPIC",
)


class SystemEngine:
    """The system tables of one simulated Asterisk and the operations that change them."""

    def __init__(self, world: World) -> None:
        self.w = world
        self.modules: Dict[str, Dict[str, Any]] = {
            name: {"name": name, "description": desc, "use_count": 0, "status": "Running", "support_level": level}
            for name, desc, level in (
                ("res_ari.so", "Asterisk RESTful Interface", "core"),
                ("res_stasis.so", "Stasis application support", "core"),
                ("res_stasis_playback.so", "Stasis application playback support", "core"),
                ("res_stasis_recording.so", "Stasis application recording support", "core"),
                ("res_stasis_snoop.so", "Stasis application snoop support", "extended"),
                ("res_stasis_device_state.so", "Stasis application device state support", "core"),
                ("chan_pjsip.so", "PJSIP Channel Driver", "core"),
                ("res_pjsip.so", "Basic SIP resource", "core"),
                ("res_musiconhold.so", "Music On Hold Resource", "core"),
                ("app_voicemail.so", "Comedian Mail (Voicemail System)", "core"),
                ("chan_rtp.so", "RTP Media Channel", "core"),
                ("bridge_simple.so", "Simple two channel bridging module", "core"),
                ("bridge_softmix.so", "Multi-party software based channel mixing", "core"),
                ("bridge_holding.so", "Holding bridge module", "core"),
                ("format_wav.so", "Microsoft WAV/WAV16 format (8kHz/16kHz Signed Linear)", "core"),
                ("app_morsecode.so", "Morse code", "extended"),
            )
        }
        self.loadable = set(self.modules) | {"app_echo.so", "app_playback.so", "res_agi.so"}
        self.logs: Dict[str, Dict[str, str]] = {
            "/var/log/asterisk/messages": {
                "channel": "/var/log/asterisk/messages",
                "type": "File",
                "status": "Enabled",
                "configuration": "NOTICE WARNING ERROR",
            },
            "console": {
                "channel": "console",
                "type": "Console",
                "status": "Enabled",
                "configuration": "NOTICE WARNING ERROR VERBOSE",
            },
        }
        #: The log channels added over ARI (Asterisk's dynamic ones): a logger reload drops them.
        self.dynamic_logs: Set[str] = set()
        # The object types of each configuration class the machine has loaded.
        types = {"res_pjsip": ("endpoint", "aor", "auth")}
        self.config: Dict[Tuple[str, str], Dict[str, List[Dict[str, str]]]] = {
            (cls, t): {} for cls in world.machine.config_classes for t in types.get(cls, ())
        }
        self.startup = ""

    # -- applications ---------------------------------------------------------------------

    def app_connected(self, name: str, subscribe_all: bool) -> None:
        app = self.w.apps.get(name)
        if app is None:
            app = self.w.apps[name] = App(name)
        app.subscribe_all = (app.subscribe_all and app.connected) or subscribe_all
        app.connected = True

    def app_disconnected(self, name: str) -> None:
        app = self.w.apps.get(name)
        if app is not None:
            app.connected = False
            app.subscribe_all = False

    def event_allowed(self, name: str, event_type: str) -> bool:
        app = self.w.apps.get(name)
        return app is None or app.allows(event_type)

    def _check_source(self, scheme: str, ident: str) -> None:
        w = self.w
        if scheme == "channel":
            exists = ident in w.channels
        elif scheme == "bridge":
            exists = ident in w.bridges
        elif scheme == "endpoint":
            exists = ident in w.endpoints or any(k.split("/", 1)[0] == ident for k in w.endpoints)
        else:
            exists = True
        if not exists:
            raise errors.EventSourceMissing()

    def _holds(self, app: App, scheme: str, ident: str) -> bool:
        if scheme == "channel":
            return app.name in self.w.channels[ident].subscribers
        if scheme == "bridge":
            return ident in app.bridge_ids
        if scheme == "endpoint":
            return ident in app.endpoint_ids
        return ident in app.device_names

    def subscribe(self, app: App, sources: List[Tuple[str, str]]) -> None:
        for scheme, ident in sources:
            self._check_source(scheme, ident)
        for scheme, ident in sources:
            if scheme == "channel":
                self.w.channels[ident].subscribers.add(app.name)
            elif scheme == "bridge":
                app.bridge_ids.add(ident)
                app.bridge_refs[ident] = app.bridge_refs.get(ident, 0) + 1
            elif scheme == "endpoint":
                app.endpoint_ids.add(ident)
            else:
                app.device_names.add(ident)

    def unsubscribe(self, app: App, sources: List[Tuple[str, str]]) -> None:
        for scheme, ident in sources:
            try:
                self._check_source(scheme, ident)
            except errors.EventSourceMissing:
                raise errors.NotSubscribed() from None
            if not self._holds(app, scheme, ident):
                raise errors.NotSubscribed()
        for scheme, ident in sources:
            if scheme == "channel":
                self.w.channels[ident].subscribers.discard(app.name)
            elif scheme == "bridge":
                app.bridge_refs[ident] = app.bridge_refs.get(ident, 1) - 1
                if app.bridge_refs[ident] <= 0:
                    app.bridge_refs.pop(ident, None)
                    app.bridge_ids.discard(ident)
            elif scheme == "endpoint":
                app.endpoint_ids.discard(ident)
            else:
                app.device_names.discard(ident)

    def set_filter(self, app: App, allowed: List[Dict[str, Any]], disallowed: List[Dict[str, Any]]) -> None:
        app.allowed = allowed
        app.disallowed = disallowed

    def app_json(self, name: str) -> Dict[str, Any]:
        w = self.w
        app = w.apps[name]
        if app.subscribe_all:
            # An application subscribed to all holds one forward per kind, named after the
            # topic (stasis/app.c, res_stasis_device_state.c): each list is that one name, and
            # Asterisk adds no single channel, bridge or endpoint beside it.
            channel_ids, bridge_ids, endpoint_ids, device_names = ([topic] for topic in ALL_TOPICS)
        else:
            channel_ids = sorted(c.id for c in w.channels.values() if c.app == name or name in c.subscribers)
            bridge_ids = sorted(app.bridge_ids)
            endpoint_ids = sorted(app.endpoint_ids)
            device_names = sorted(app.device_names)
        return {
            "name": name,
            "channel_ids": channel_ids,
            "bridge_ids": bridge_ids,
            "endpoint_ids": endpoint_ids,
            "device_names": device_names,
            "events_allowed": list(app.allowed),
            "events_disallowed": list(app.disallowed),
        }

    def source_json(self, scheme: str, ident: str) -> Tuple[Optional[str], Any]:
        """The field a user event's ``source`` adds (None for a device state: no place for it)."""
        w = self.w
        if scheme == "channel":
            if ident not in w.channels:
                raise errors.SourceChannelNotFound()
            return "channel", w.channels[ident].to_json()
        if scheme == "bridge":
            if ident not in w.bridges:
                raise errors.SourceBridgeNotFound()
            return "bridge", w.bridges[ident].to_json()
        if scheme == "endpoint":
            if ident not in w.endpoints:
                raise errors.SourceEndpointNotFound()
            return "endpoint", self.endpoint_json(ident)
        return None, None

    def user_event(self, app: str, event_name: str, sources: Dict[str, Any], variables: Dict[str, str]) -> None:
        """ChannelUserevent to ``app`` only, with the fields of its sources."""
        fields: Dict[str, Any] = {"eventname": event_name}
        fields.update(sources)
        fields["userevent"] = {"eventname": event_name, **variables}  # Asterisk repeats it
        self.w.emit("ChannelUserevent", fields, only=app)

    def claim(self) -> None:
        # No channel is ever offered by broadcast in the simulator.
        raise errors.ChannelNotInBroadcast()

    # -- /asterisk ------------------------------------------------------------------------

    def info(self) -> Dict[str, Dict[str, Any]]:
        return {
            "build": {
                "os": "Linux",
                "kernel": "6.1.0",
                "options": "",
                "machine": "x86_64",
                "date": "2026-01-01 00:00:00 UTC",
                "user": "asterisk",
            },
            "system": {"version": "22.10.1", "entity_id": self.w.asterisk_id},
            "config": self._config_info(),
            "status": {"startup_time": self.startup, "last_reload_time": self.startup},
        }

    def _config_info(self) -> Dict[str, Any]:
        m = self.w.machine
        out: Dict[str, Any] = {
            "name": m.system_name,
            "default_language": "en",
            "setid": {"user": m.run_user, "group": m.run_group},
        }
        # Asterisk sets each limit only when asterisk.conf gives it (nonzero).
        for key, value in (
            ("max_channels", m.max_channels),
            ("max_open_files", m.max_open_files),
            ("max_load", m.max_load),
        ):
            if value:
                out[key] = value
        return out

    def module(self, name: str) -> Dict[str, Any]:
        if name not in self.modules:
            raise errors.ModuleNotFound()
        return dict(self.modules[name])

    def _running(self, name: str) -> str:
        if name not in self.modules:
            raise errors.ModuleNotRunning()
        return name

    def load_module(self, name: str) -> None:
        if name in self.modules:
            raise errors.ModuleAlreadyLoaded()
        if name not in self.loadable:
            raise errors.ModuleNotLoadable()
        self.modules[name] = {
            "name": name,
            "description": name,
            "use_count": 0,
            "status": "Running",
            "support_level": "core",
        }

    def unload_module(self, name: str) -> None:
        del self.modules[self._running(name)]

    def reload_module(self, name: str) -> None:
        self._running(name)

    def check_new_log(self, name: str) -> None:
        if name in self.logs:
            raise errors.LogChannelNotCreated()

    def add_log(self, name: str, configuration: str) -> None:
        self.check_new_log(name)
        self.logs[name] = {"channel": name, "type": "File", "status": "Enabled", "configuration": configuration}
        self.dynamic_logs.add(name)

    def _log(self, name: str) -> str:
        if name not in self.logs:
            raise errors.LogChannelNotFound()
        return name

    def delete_log(self, name: str) -> None:
        if name not in self.dynamic_logs:
            # ast_logger_remove_channel removes only a dynamic channel; logger.conf's stay.
            raise errors.LogChannelNotFound()
        del self.logs[name]
        self.dynamic_logs.discard(name)

    def rotate_log(self, name: str) -> None:
        # ast_logger_rotate_channel ends in init_logger_chain(), which frees every log channel
        # and rebuilds logger.conf's: the channels added over ARI are gone after any rotate,
        # even a failed one (logger.c, 22.10.1).
        found = name in self.logs
        for dynamic in self.dynamic_logs:
            self.logs.pop(dynamic, None)
        self.dynamic_logs.clear()
        if not found:
            raise errors.LogChannelNotFound()

    def set_global(self, name: str, value: str) -> None:
        self.w.global_vars[name] = value

    def config_type(self, config_class: str, object_type: str) -> Dict[str, List[Dict[str, str]]]:
        found = self.config.get((config_class, object_type))
        if found is None:
            if not any(known == config_class for known, _ in self.config):
                raise errors.ConfigClassNotFound(config_class)
            raise errors.ConfigTypeNotFound(config_class, object_type)
        return found

    def config_object(self, config_class: str, object_type: str, oid: str) -> List[Dict[str, str]]:
        objects = self.config_type(config_class, object_type)
        if oid not in objects:
            raise errors.ConfigObjectNotFound(oid)
        return [dict(t) for t in objects[oid]]

    def update_object(
        self, config_class: str, object_type: str, oid: str, fields: List[Dict[str, Any]]
    ) -> List[Dict[str, str]]:
        objects = self.config_type(config_class, object_type)
        current = {t["attribute"]: t["value"] for t in objects.get(oid, [])}
        current.update({str(f["attribute"]): str(f["value"]) for f in fields})
        objects[oid] = [{"attribute": k, "value": v} for k, v in current.items()]
        if object_type == "endpoint":
            # A sorcery-created PJSIP endpoint is dialable at once.
            self.w.endpoints.setdefault("PJSIP/" + oid, "offline")
            if oid not in self.w.dialplan.pjsip_endpoints:
                self.w.dialplan.pjsip_endpoints.append(oid)
        return [dict(t) for t in objects[oid]]

    def delete_object(self, config_class: str, object_type: str, oid: str) -> None:
        objects = self.config_type(config_class, object_type)
        if oid not in objects:
            raise errors.ConfigObjectNotFound(oid)
        del objects[oid]
        if object_type == "endpoint":
            self.w.endpoints.pop("PJSIP/" + oid, None)
            if oid in self.w.dialplan.pjsip_endpoints:
                self.w.dialplan.pjsip_endpoints.remove(oid)

    # -- endpoints ------------------------------------------------------------------------

    def endpoint_json(self, key: str) -> Dict[str, Any]:
        w = self.w
        tech, _, resource = key.partition("/")
        return {
            "technology": tech,
            "resource": resource,
            "state": w.endpoints[key],
            "channel_ids": sorted(w.endpoint_channels.get(key, ())),
        }

    def endpoints_of(self, tech: str) -> List[str]:
        found = [k for k in self.w.endpoints if k.split("/", 1)[0] == tech]
        if not found:
            raise errors.NoEndpointsForTech(tech)
        return found

    def message_received(self, key: str, message: Dict[str, Any]) -> None:
        """A text message reaches ``key``: its subscribers see TextMessageReceived."""
        self.w.emit("TextMessageReceived", {"message": message, "endpoint": self.endpoint_json(key)}, endpoint=key)

    # -- device states --------------------------------------------------------------------

    def device_state(self, name: str) -> str:
        w = self.w
        if name in w.device_states:
            return w.device_states[name]
        if name in w.endpoints:
            return "INUSE" if w.endpoint_channels.get(name) else "NOT_INUSE"
        return "UNKNOWN" if name.startswith("Stasis:") else "INVALID"

    @staticmethod
    def controlled(name: str) -> str:
        """``name`` when the application may set it (a ``Stasis:`` device)."""
        if not name.startswith("Stasis:"):
            raise errors.UncontrolledDevice()
        if name == "Stasis:":
            raise errors.DeviceNameMissing()
        return name

    def _device_changed(self, name: str, state: str) -> None:
        self.w.emit("DeviceStateChanged", {"device_state": {"name": name, "state": state}}, device=name)

    def update_device(self, name: str, state: str) -> None:
        changed = self.w.device_states.get(name) != state
        self.w.device_states[name] = state
        if changed:
            self._device_changed(name, state)

    def delete_device(self, name: str) -> None:
        # Asterisk answers 204 even for a device it never had, and tells no subscriber.
        self.w.device_states.pop(name, None)

    # -- mailboxes ------------------------------------------------------------------------

    def mailbox(self, name: str) -> Tuple[int, int]:
        counts = self.w.mailboxes.get(name)
        if counts is None:
            raise errors.MailboxNotFound()
        return counts

    def update_mailbox(self, name: str, old: int, new: int) -> None:
        self.w.mailboxes[name] = (old, new)

    def delete_mailbox(self, name: str) -> None:
        if self.w.mailboxes.pop(name, None) is None:
            raise errors.MailboxNotDeleted()
