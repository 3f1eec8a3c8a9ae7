"""Resource collections (``client.channels``) and instances (``Channel``, ``Bridge``...).

Classes are made per client with ``type()`` from the API model, botocore style:
every operation becomes a real method (ARI nickname and snake_case name, docstring,
signature), on the collection and, bound to the identity, on instances.  A call reads in
one place (``_call``): bind the identity and instance, prepare (operations.py), send
through the router (transports.py), notify the observers, convert the reply.
"""

from __future__ import annotations

import logging
import threading
import weakref
from concurrent.futures import Future
from keyword import iskeyword
from typing import Any, Callable, Container, Dict, Iterable, Iterator, List, Mapping, Optional, Tuple, Type

from .errors import ClosedError, HTTPError, ValidationError
from .model import API, InstanceType
from .naming import snake_case
from .operations import OperationTemplate
from .threads import call_guarded
from .transports import Router
from .workers import WorkerPool

log = logging.getLogger(__name__)

Callback = Callable[[Optional[BaseException], Any], None]


class Data(dict):
    """Plain model data (``AsteriskInfo``, ``Variable``...) with attribute access, nested too."""

    __slots__ = ()

    def __getattr__(self, name: str) -> Any:
        try:
            value = self[name]
        except KeyError:
            alternative = snake_case(name)
            if alternative not in self:
                raise AttributeError(name) from None
            value = self[alternative]
        return Data(value) if isinstance(value, dict) and not isinstance(value, Data) else value


class Fields:
    """Field access over a wrapped JSON object ``_data``: by attribute (ARI or snake_case name) and item.

    Shared by resource instances and events; nested objects come back as ``Data``.  The
    fields the description declares are properties of the generated classes (``field``);
    ``__getattr__`` answers for the rest.
    """

    __slots__ = ()
    _data: Dict[str, Any]

    def __getattr__(self, name: str) -> Any:
        data = self._data
        if name in data:
            value = data[name]
        else:
            alternative = snake_case(name)
            if alternative not in data:
                raise AttributeError(self._no_field(name))
            value = data[alternative]
        return Data(value) if type(value) is dict else value

    def __getitem__(self, name: str) -> Any:
        return self._data[name]

    def __contains__(self, name: object) -> bool:
        return name in self._data

    def __iter__(self) -> Iterator[str]:
        return iter(self._data)

    def _no_field(self, name: str) -> str:
        return f"{type(self).__name__} has no field {name!r}"


def field(name: str) -> property:
    """The attribute of a field the description declares, read without ``__getattr__``.

    Reaching ``__getattr__`` first fails the normal lookup, which makes and drops an
    ``AttributeError``: 1.3 us a read against 0.24 through this property (bench/README.rst).
    An absent field falls back to ``Fields.__getattr__`` (its snake_case name, its error).
    """

    def get(self: Fields) -> Any:
        try:
            value = self._data[name]
        except KeyError:
            return Fields.__getattr__(self, name)
        return Data(value) if type(value) is dict else value

    get.__name__ = name
    return property(get)


def fields_of(
    names: Iterable[str], base: type, taken: Container[str] = (), made: Optional[Dict[str, property]] = None
) -> Dict[str, property]:
    """A ``field`` property for each name that is an identifier, not an attribute of ``base``
    nor in ``taken`` (methods win, as they did over ``__getattr__``).  ``made``: the properties
    made so far for other classes, shared (a property holds only its name)."""
    made = {} if made is None else made
    out: Dict[str, property] = {}
    for name in names:
        if name.isidentifier() and not iskeyword(name) and name not in taken and not hasattr(base, name):
            prop = made.get(name)
            if prop is None:
                prop = made[name] = field(name)
            out[name] = prop
    return out


Observer = Callable[[Mapping[str, Any]], None]


class Observers:
    """Operation name -> the functions called with the parameters of each successful call.

    A list per operation: a second observer never replaces the first (assigning adds one).
    """

    def __init__(self) -> None:
        self._by_operation: Dict[str, Tuple[Observer, ...]] = {}

    def add(self, operation: str, observer: Observer) -> None:
        self._by_operation[operation] = (*self._by_operation.get(operation, ()), observer)

    __setitem__ = add

    def get(self, operation: str) -> Tuple[Observer, ...]:
        return self._by_operation.get(operation, ())


class Meta:
    """What generated objects share: the API, the router, the worker pool, the listeners.

    It lives under one attribute (``client.meta``, ``Channel.meta``) so it can never
    collide with an operation or a field name.  ``api``, ``router``, ``transport`` and
    ``observers`` and ``instance_classes`` cannot be replaced; ``make_events`` is the client's
    one piece of wiring.
    """

    def __init__(self, api: API, router: Router, *, workers: int = 8) -> None:
        self._api = api
        self._router = router
        self._workers = workers
        self._observers = Observers()
        self._templates: Dict[Tuple[str, str], OperationTemplate] = {}
        self._instance_classes: Dict[str, Type[Resource]] = {}
        #: builds the listener registry (dispatch.py) on first use; set by the client
        self.make_events: Optional[Callable[[], Any]] = None
        self._events: Any = None
        self._pool: Optional[WorkerPool] = None
        self._lock = threading.Lock()
        self._closed = False
        #: what lives on this client's calls and ends with it (media sessions): closed on close()
        self._adopted: weakref.WeakSet[Any] = weakref.WeakSet()

    @property
    def api(self) -> API:
        return self._api

    @property
    def router(self) -> Router:
        """Sends each call over HTTP or the event socket (transports.py)."""
        return self._router

    @property
    def transport(self) -> Any:
        """The HTTP transport (http.py): root URL, credentials for the event socket."""
        return self._router.http

    @property
    def instance_classes(self) -> Dict[str, Type[Resource]]:
        """Model name -> the generated instance class (``Channel``, ``Bridge``...); filled by
        ``build_classes`` (outbound.py fills a per-call client's with subclasses of shared ones)."""
        return self._instance_classes

    @property
    def observers(self) -> Observers:
        """Called with the parameters of each successful call, per operation (subscriptions.py)."""
        return self._observers

    def release_listeners(self, key: Tuple[Any, ...]) -> None:
        """Forget the listeners of a resource that will never exist (a failed create)."""
        if self._events is not None:
            self._events.release(key)

    @property
    def events(self) -> Any:
        """The client's listener registry, made on first use: REST-only clients never import it."""
        if self._events is None:
            with self._lock:
                if self._events is None:
                    if self.make_events is None:
                        raise RuntimeError("this client has no event support")
                    self._events = self.make_events()
        return self._events

    def pool(self) -> WorkerPool:
        # Made on first use: most clients never call an operation in the background.
        with self._lock:
            if self._closed:
                raise RuntimeError("client is closed")
            if self._pool is None:
                self._pool = WorkerPool(self._workers)
            return self._pool

    def adopt(self, closable: Any) -> Any:
        """Close ``closable`` (anything with ``close()``, e.g. a media session) when the client closes.

        Held weakly: an object closed and dropped earlier is simply forgotten.
        """
        with self._lock:
            if self._closed:
                raise ClosedError("the client is closed")
            self._adopted.add(closable)
        return closable

    def shutdown(self) -> None:
        with self._lock:
            self._closed = True
            pool, self._pool = self._pool, None
            adopted, self._adopted = list(self._adopted), weakref.WeakSet()
        for closable in adopted:
            call_guarded(log, "close of", closable.close)
        if pool is not None:
            pool.shutdown()

    def build(self, model: str, data: Any) -> Any:
        """JSON of a model -> an instance for resource models, ``Data`` for other objects."""
        cls = self._instance_classes.get(model)
        if cls is not None and isinstance(data, dict):
            return cls(data)
        if isinstance(data, dict):
            return Data(data)
        return data

    def submit(self, fn: Callable[[], Any], callback: Optional[Callback]) -> Future:
        if callback is None:
            return self.pool().submit(fn)

        def run() -> Any:
            # The callback runs on the worker, before the future resolves, exactly once.
            try:
                result = fn()
            except BaseException as exc:
                _call_back(callback, exc, None)
                raise
            _call_back(callback, None, result)
            return result

        future = self.pool().submit(run)
        future.add_done_callback(lambda done: _call_back(callback, _cancelled(), None) if done.cancelled() else None)
        return future


def _cancelled() -> RuntimeError:
    return RuntimeError("cancelled: the client was closed before the call ran")


def _call_back(callback: Callback, error: Optional[BaseException], result: Any) -> None:
    call_guarded(log, "callback", callback, error, result)


class Resource(Fields):
    """Base of instance classes: fields by attribute and item, operations bound to the identity."""

    meta: Meta
    _type: InstanceType
    _identity_props: Tuple[str, ...] = ()

    __slots__ = ("_data", "__weakref__")

    def __init__(self, data: Dict[str, Any]) -> None:
        self._data = data

    def _no_field(self, name: str) -> str:
        return f"{type(self).__name__} has no field or operation {name!r}"

    def __dir__(self) -> List[str]:
        # Fields too, for tab completion and dir(): those the description does not declare are
        # reached through __getattr__.
        return sorted({*super().__dir__(), *(k for k in self._data if isinstance(k, str) and k.isidentifier())})

    def to_dict(self) -> Dict[str, Any]:
        """The fields as Asterisk sent them."""
        return dict(self._data)

    @property
    def _key(self) -> Tuple[Any, ...]:
        """Listener key: the model and the identity (``InstanceType.key_of``, shared with events.py)."""
        return self._type.key_of(self._data)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Resource) and self._key == other._key

    def __hash__(self) -> int:
        return hash(self._key)

    def __repr__(self) -> str:
        shown = {p: self._data.get(p) for p in self._identity_props}
        for extra in ("name", "state"):
            if extra in self._data and extra not in shown:
                shown[extra] = self._data[extra]
        fields = " ".join(f"{k}={v!r}" for k, v in shown.items())
        return f"<{type(self).__name__} {fields}>"

    def _update(self, data: Dict[str, Any]) -> None:
        self._data = data

    # -- events (registry in dispatch.py) ---------------------------------------------
    def on(self, event_type: str, handler: Callable[..., Any]) -> Callable[..., Any]:
        """Call ``handler`` for every ``event_type`` event about this resource."""
        self.meta.events.add(event_type, handler, key=self._key)
        return handler

    def once(self, event_type: str, handler: Callable[..., Any]) -> Callable[..., Any]:
        """Like :meth:`on`, for the next such event only."""
        self.meta.events.add(event_type, handler, key=self._key, once=True)
        return handler

    def remove_listener(self, event_type: str, handler: Callable[..., Any]) -> None:
        self.meta.events.remove(event_type, handler, key=self._key)

    def remove_all_listeners(self, event_type: Optional[str] = None) -> None:
        self.meta.events.remove_all(event_type, key=self._key)

    removeListener = remove_listener
    removeAllListeners = remove_all_listeners


class Collection:
    """Base of resource collections (``client.channels``): the resource's operations."""

    meta: Meta
    resource: str

    __slots__ = ()

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.resource}>"


# -- calling -----------------------------------------------------------------------------
def _call(
    meta: Meta,
    template: OperationTemplate,
    params: Optional[Mapping[str, Any]],
    instance: Optional[Resource],
    kwargs: Mapping[str, Any],
    owner: Optional[Resource],
) -> Any:
    """One call: bind, prepare, send, notify, convert."""
    values, instance = _bind(template, params, instance, kwargs, owner)
    request = template.prepare(values)
    try:
        reply = meta.router.send(request).raise_for_status(request)
    except HTTPError:
        # Asterisk refused to make (or find) the resource: its listeners would wait forever.
        for target in (owner, instance):
            if target is not None and type(target).__name__ == template.response.name:
                meta.release_listeners(target._key)
        raise
    for observer in meta.observers.get(template.name):
        observer(values)
    if template.void:
        return None  # answer(), hangup()...: nothing to read, no builder to make
    return template.convert(reply, _builder(meta, owner, instance))


def _bind(
    template: OperationTemplate,
    params: Optional[Mapping[str, Any]],
    instance: Optional[Resource],
    kwargs: Mapping[str, Any],
    owner: Optional[Resource],
) -> Tuple[Dict[str, Any], Optional[Resource]]:
    """The call's parameter values by ARI name: given, the owner's identity, the instance's."""
    if params is not None and not isinstance(params, Mapping):
        if isinstance(params, Resource) and instance is None:
            params, instance = None, params
        else:
            raise ValidationError(template.name, None, f"params must be a dict, got {type(params).__name__}")
    values = template.normalise(params, kwargs)
    if owner is not None:
        for param, prop in owner._type.identity:
            values.setdefault(param, owner._data.get(prop))
    if instance is not None:
        values[_instance_slot(template, instance, values, owner)] = instance._key[1]
    return values, instance


def _builder(meta: Meta, owner: Optional[Resource], instance: Optional[Resource]) -> Callable[[str, Any], Any]:
    """``build`` for a call's result: the owner or instance itself, updated, when the answer is about it."""
    if owner is None and instance is None:
        return meta.build

    def build(model: str, data: Any) -> Any:
        for target in (owner, instance):
            if target is not None and type(target).__name__ == model and isinstance(data, dict):
                if all(data.get(p) == target._data.get(p) for p in target._identity_props):
                    target._update(data)
                    return target
        return meta.build(model, data)

    return build


def _instance_slot(
    template: OperationTemplate, instance: Resource, values: Mapping[str, Any], owner: Optional[Resource]
) -> str:
    """Which parameter an instance passed to an operation fills (``playbackId``, ``snoopId``, ``name``).

    The parameter may also be given explicitly, with the instance's own identity; any
    other value is a conflict, never silently overridden.
    """
    bound = set(owner._type.identity_params) if owner is not None else set()
    names = [n for n in template.parameters if n not in bound]
    slot = None
    inst_type = instance._type
    if len(inst_type.identity) == 1:
        param, prop = inst_type.identity[0]
        slot = next((c for c in (param, prop) if c in names), None)
        # An operation creating an object of the instance's model may name its id otherwise (snoopId).
        if slot is None and prop == "id" and template.response.name == type(instance).__name__:
            id_params = [n for n in names if n.endswith("Id")]
            slot = id_params[0] if len(id_params) == 1 else None
    if slot is None:
        raise ValidationError(template.name, None, f"cannot take a {type(instance).__name__} instance")
    identity = instance._key[1]
    if values.get(slot) not in (None, identity):
        raise ValidationError(
            template.name,
            slot,
            f"{values[slot]!r} conflicts with the {type(instance).__name__} instance passed ({identity!r})",
        )
    return slot


def _method(
    meta_of: Callable[[Any], Meta],
    template: OperationTemplate,
    bound: bool,
    name: str,
    identity: Tuple[str, ...] = (),
) -> Callable[..., Any]:
    def method(
        self: Any,
        params: Optional[Mapping[str, Any]] = None,
        instance: Optional[Resource] = None,
        *,
        callback: Optional[Callback] = None,
        **kwargs: Any,
    ) -> Any:
        meta = meta_of(self)
        owner = self if bound else None
        if callback is None:
            return _call(meta, template, params, instance, kwargs, owner)
        return meta.submit(lambda: _call(meta, template, params, instance, kwargs, owner), callback)

    def method_async(
        self: Any, params: Optional[Mapping[str, Any]] = None, instance: Optional[Resource] = None, **kwargs: Any
    ) -> Future:
        meta = meta_of(self)
        owner = self if bound else None
        return meta.submit(lambda: _call(meta, template, params, instance, kwargs, owner), None)

    # What the instance fills: its identity parameters this operation takes (channelId, bridgeId).
    bound_params = tuple(p for p in identity if p in template.parameters) if bound else ()
    method.__name__ = method.__qualname__ = name
    method.__doc__ = template.docstring_for(bound_params) if bound_params else template.docstring
    method.__signature__ = template.signature(bound_params)  # type: ignore[attr-defined]
    method_async.__name__ = method_async.__qualname__ = f"{name}_async"
    method_async.__doc__ = f"{name} in the background: returns a concurrent.futures.Future of its result.\n\n" + (
        method.__doc__ or ""
    )
    method.async_variant = method_async  # type: ignore[attr-defined]
    return method


def _add_operations(
    namespace: Dict[str, Any], templates: List[OperationTemplate], bound: bool, identity: Tuple[str, ...] = ()
) -> None:
    for template in templates:
        op = template.operation
        method = _method(_meta_of, template, bound, op.python_name, identity)
        for name in dict.fromkeys((op.python_name, op.nickname)):
            namespace[name] = method
            namespace[f"{name}_async"] = method.async_variant  # type: ignore[attr-defined]


def _meta_of(obj: Any) -> Meta:
    return obj.meta


#: attributes of collections and instances that no operation of a description may take
RESERVED_NAMES = frozenset(name for cls in (Resource, Collection) for name in dir(cls) if not name.startswith("_")) | {
    "meta",
    "resource",
}


def build_classes(meta: Meta) -> Dict[str, Collection]:
    """Make the collection and instance classes for a client; return the collections by ARI name."""
    api = meta.api
    for resource, operations in api.resources.items():
        for op in operations:
            if not op.upgrade:
                meta._templates[(resource, op.nickname)] = OperationTemplate(op)
    made: Dict[str, property] = {}
    for model, inst_type in api.instance_types.items():
        namespace: Dict[str, Any] = {
            "__slots__": (),
            "meta": meta,
            "_type": inst_type,
            "__module__": "ari.resources",
            "_identity_props": inst_type.identity_props,
            "__doc__": f"An ARI {model}; operations of {inst_type.resource} bound to its identity.",
        }
        _add_operations(
            namespace,
            [meta._templates[(inst_type.resource, op.nickname)] for op in inst_type.operations],
            True,
            inst_type.identity_params,
        )
        declared = api.models[model].properties if model in api.models else {}
        namespace.update(fields_of(declared, Resource, taken=namespace, made=made))
        meta._instance_classes[model] = type(model, (Resource,), namespace)
    collections: Dict[str, Collection] = {}
    for resource, operations in api.resources.items():
        namespace = {
            "__slots__": (),
            "meta": meta,
            "resource": resource,
            "__module__": "ari.resources",
            "__doc__": f"The ARI {resource} resource.",
        }
        _add_operations(
            namespace, [meta._templates[(resource, op.nickname)] for op in operations if not op.upgrade], False
        )
        class_name = resource[0].upper() + resource[1:] + "Resource"
        collections[resource] = type(class_name, (Collection,), namespace)()
    return collections


def new_instance(meta: Meta, model: str, identity: Optional[str] = None, **fields: Any) -> Resource:
    """A factory instance (``client.Channel()``): a fresh uuid unless an identity is given."""
    cls = meta._instance_classes[model]
    props = cls._identity_props
    data: Dict[str, Any] = dict(fields)
    if len(props) == 1:
        if identity is None:
            import uuid  # here: only factories need it, and it costs connect time

            identity = str(uuid.uuid4())
        data.setdefault(props[0], identity)
    elif identity is not None:
        raise TypeError(f"{model} is identified by {', '.join(props)}: pass them as keywords")
    missing = [p for p in props if p not in data]
    if missing:
        raise TypeError(f"{model} needs {', '.join(missing)}")
    return cls(data)
