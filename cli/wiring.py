"""Composition root: build each service from settings and its collaborators.

Each builder imports what its service needs when called: a process runs one service,
and need not load (nor keep in memory) the others' code.
"""

from __future__ import annotations

import contextlib
import functools
import logging
from collections.abc import AsyncIterator
from typing import TYPE_CHECKING, Any

from common.rpc import Messaging
from common.service import Service
from common.settings import Settings

if TYPE_CHECKING:
    from fastapi import FastAPI
    from sqlalchemy.orm import Session, sessionmaker

    from compute_agent.network.wiring import HostNetworkAgent, PortWiring
    from compute_agent.virt.driver import Driver
    from conductor.rpc.client import ConductorClient

LOG = logging.getLogger(__name__)


def _compute_db(settings: Settings) -> sessionmaker[Session]:
    from common.db import check_at_head, engine_for, session_factory

    engine = engine_for(settings.compute_db_url, settings.database)
    check_at_head("compute", engine)
    return session_factory(engine)


def _self_heartbeat(service: Service, sessions: sessionmaker[Session], host: str,
                    binary: str, topic: str, interval: float) -> None:
    from common.compute_db import queries
    from common.db import transaction

    def beat() -> None:
        with transaction(sessions) as session:
            if not queries.heartbeat(session, host, binary):
                queries.upsert_service(session, host, binary, topic)

    service.on_start.append(beat)
    service.add_periodic("heartbeat", interval, beat)


def build_scheduler(settings: Settings, messaging: Messaging, placement_url: str) -> Service:
    from common.auth import client_auth
    from placement.client import PlacementClient
    from scheduler.manager import SchedulerManager
    from scheduler.rpc.client import TOPIC as SCHEDULER_TOPIC
    from scheduler.rpc.server import SchedulerEndpoint

    sessions = _compute_db(settings)
    placement = PlacementClient(placement_url, **client_auth(settings),
                                timeout=settings.placement.timeout)
    manager = SchedulerManager(sessions, placement, settings)
    service = Service("scheduler")
    service.add_rpc_server(messaging.server(SCHEDULER_TOPIC, settings.compute.host,
                                            [SchedulerEndpoint(manager)]))
    _self_heartbeat(service, sessions, settings.compute.host, "kilonova-scheduler",
                    SCHEDULER_TOPIC, settings.service.heartbeat_interval)
    service.on_stop.append(placement.close)
    return service


def build_conductor(settings: Settings, messaging: Messaging, placement_url: str) -> Service:
    from common.auth import client_auth
    from common.states import ACTIONS, TaskState
    from compute_agent.images import HttpImageSource, image_api_url
    from compute_agent.rpc.client import ComputeClient
    from conductor.flows.actions import POWER_CALLS, ActionFlow
    from conductor.flows.build import BuildFlow
    from conductor.flows.delete import DeleteFlow
    from conductor.flows.evacuate import EvacuateFlow
    from conductor.flows.host_actions import HostActionFlow
    from conductor.flows.interfaces import InterfaceFlow
    from conductor.flows.live_migrate import LiveMigrateFlow
    from conductor.flows.resize import MoveRecovery, ResizeFlow
    from conductor.flows.shelve import ShelveFlow
    from conductor.host_providers import HostProviders
    from conductor.hosts import HostRecords
    from conductor.images import ImageRecords
    from conductor.metadata import GuestMetadata
    from conductor.network_push import NetworkPush
    from conductor.reclaim import Reclaimer
    from conductor.reconcile import AgentReconcile
    from conductor.routes import HostRoutes
    from conductor.rpc.client import TOPIC as CONDUCTOR_TOPIC
    from conductor.rpc.server import ConductorEndpoint
    from conductor.sweeper import Sweeper
    from conductor.tasks import Tasks
    from conductor.work import ABANDONED_EXPIRE, ActionRecovery, Takeover
    from placement.client import PlacementClient
    from scheduler.rpc.client import SchedulerClient

    sessions = _compute_db(settings)
    placement = PlacementClient(placement_url, **client_auth(settings),
                                timeout=settings.placement.timeout)
    compute = ComputeClient(messaging, router=HostRoutes(sessions))
    scheduler, tasks = SchedulerClient(messaging), Tasks(sessions, owner=settings.compute.host)
    neutron_ports = None
    if settings.network.backend == "neutron":
        from common.neutron import NeutronClient
        from conductor.neutron_ports import NeutronPorts

        neutron_ports = NeutronPorts(sessions, NeutronClient(settings))
    builds = BuildFlow(sessions, scheduler, compute, placement, settings, neutron_ports)
    deletes = DeleteFlow(sessions, placement, compute, settings)
    deletes.neutron_ports = tasks.neutron_ports = neutron_ports
    moves = (tasks, scheduler, compute, placement, settings)
    images = ImageRecords(sessions, HttpImageSource(image_api_url(settings),
                                                    **client_auth(settings)))
    shelves = ShelveFlow(tasks, scheduler, compute, placement, images, settings)
    actions = ActionFlow(tasks, compute, images, settings.libvirt.shutdown_timeout)
    host_actions = HostActionFlow(tasks, compute)
    push = NetworkPush(sessions, compute)
    host_records = HostRecords(sessions)
    host_records.neutron_ports = neutron_ports
    endpoint = ConductorEndpoint(builds, deletes, host_records, actions,
                                 ResizeFlow(*moves),
                                 LiveMigrateFlow(*moves), HostProviders(sessions, placement),
                                 EvacuateFlow(*moves), host_actions,
                                 shelves, AgentReconcile(sessions), GuestMetadata(sessions),
                                 InterfaceFlow(tasks, compute, push.changed), push)
    service = Service("conductor")
    service.add_rpc_server(messaging.server(CONDUCTOR_TOPIC, settings.compute.host,
                                            [endpoint]))
    sweeper = Sweeper(sessions, deletes, MoveRecovery(*moves))
    service.add_periodic("sweep", settings.conductor.sweep_interval, sweeper.run)
    service.add_periodic("reclaim", settings.conductor.sweep_interval,
                         Reclaimer(sessions, deletes, shelves, placement, settings).run)
    recovery = ActionRecovery(
        redrive={**{ACTIONS[a].sets_task: functools.partial(actions.power, action=a)
                    for a in POWER_CALLS},
                 TaskState.DELETING: deletes.delete,
                 TaskState.SHELVING_OFFLOADING: shelves.offload,
                 TaskState.UNRESCUING: host_actions.unrescue},
        expire_tasks=ABANDONED_EXPIRE, expire=sweeper.expire)
    takeover = Takeover(sessions, builds, compute, placement, settings, recovery)
    service.add_periodic("takeover", settings.conductor.sweep_interval, takeover.run)
    _self_heartbeat(service, sessions, settings.compute.host, "kilonova-conductor",
                    CONDUCTOR_TOPIC, settings.service.heartbeat_interval)
    if neutron_ports is not None:
        service.add_periodic("neutron-ports", settings.conductor.sweep_interval,
                             neutron_ports.run)
        service.on_stop.append(neutron_ports.neutron.close)
    service.on_stop.append(placement.close)
    return service


def compute_hosts(settings: Settings) -> list[str]:
    """The hosts one compute process serves: itself, or its simulated hosts."""
    cfg = settings.compute
    if cfg.driver == "fake" and cfg.fake_hosts > 1:
        return [f"{cfg.host}-{i}" for i in range(1, cfg.fake_hosts + 1)]
    return [cfg.host]


def _drivers(settings: Settings) -> list[tuple[str, Driver]]:
    cfg = settings.compute
    if cfg.driver == "fake":
        from compute_agent.virt.fake import FakeDriver

        return [(name, FakeDriver(name, cfg)) for name in compute_hosts(settings)]
    from compute_agent.virt.libvirt import LibvirtDriver

    return [(cfg.host, LibvirtDriver(settings))]


def _port_wiring(settings: Settings, host: str, conductor: ConductorClient
                 ) -> tuple[PortWiring | None, HostNetworkAgent | None]:
    """How ``host`` wires ports: its data plane (libvirt, or ``[network] dataplane``),
    or at once (simulated hosts program nothing)."""
    from compute_agent.network.dataplane import Dataplane
    from compute_agent.network.wiring import HostNetworkAgent
    from compute_agent.virt.fake import FakeWiring

    wanted = settings.network.dataplane
    if wanted is None:
        # With an external Neutron, its own agents program the hosts.
        wanted = settings.compute.driver == "libvirt" and settings.network.backend == "builtin"
    if not wanted:
        return (FakeWiring(host) if settings.compute.driver == "fake" else None), None
    net = settings.network
    dataplane = Dataplane(net.state_dir or settings.data_dir / "network",
                          namespace=net.namespace,
                          physical_interface_mappings=net.physical_interface_mappings,
                          local_ip=net.local_ip)
    agent = HostNetworkAgent(host, conductor, dataplane)
    return agent, agent


def build_computes(settings: Settings, messaging: Messaging, placement_url: str) -> Service:
    """One agent per host this process serves (many with simulated hosts)."""
    from common.agent_auth import agent_client_auth
    from compute_agent.images import HttpImageSource, image_api_auth, image_api_url
    from compute_agent.manager import ComputeManager, heartbeat_hosts, sync_hosts
    from compute_agent.rpc.client import TOPIC as COMPUTE_TOPIC
    from compute_agent.rpc.server import ComputeEndpoint
    from conductor.rpc.client import ConductorClient
    from placement.client import PlacementClient

    # The agent's own host-bound credential, never the token-signing key.
    placement = PlacementClient(placement_url, **agent_client_auth(settings),
                                timeout=settings.placement.timeout)
    conductor = ConductorClient(messaging)
    service = Service("compute")
    images = HttpImageSource(image_api_url(settings), **image_api_auth(settings))
    drivers = _drivers(settings)
    # Many hosts in one process share one queue, named for the process, and each message
    # names its host; a single host keeps a queue of its own name.
    queue = settings.compute.host
    rpc_server = queue if len(drivers) > 1 else None
    managers: list[ComputeManager] = []
    cfg = settings.compute
    for host, driver in drivers:
        wiring, network = _port_wiring(settings, host, conductor)
        manager = ComputeManager(
            host, driver, conductor, placement, images, rpc_server=rpc_server,
            wiring=wiring, vif_plugging_timeout=cfg.vif_plugging_timeout,
            vif_plugging_is_fatal=cfg.vif_plugging_is_fatal,
            vtep_ip=settings.network.local_ip if network is not None else None,
            reports_wiring=settings.network.backend == "builtin")
        service.on_start.append(manager.register)
        if network is not None:
            # Reconcile the host's network before taking work, then with every sync.
            service.on_start.append(network.converge_quietly)
            service.add_periodic(f"network-{host}", cfg.sync_interval,
                                 network.converge_quietly)
        service.on_start.append(manager.init_host)
        managers.append(manager)
    service.add_rpc_server(messaging.server(
        COMPUTE_TOPIC, queue if rpc_server else managers[0].host,
        [ComputeEndpoint({m.host: m for m in managers})]))
    hosts = [m.host for m in managers]
    service.add_periodic("sync", settings.compute.sync_interval,
                         functools.partial(sync_hosts, conductor, managers))
    interval = settings.service.heartbeat_interval
    # One beat for every host of the process; one older than the next is worthless, so
    # it waits no longer than that.
    service.add_periodic("heartbeat", interval, functools.partial(
        heartbeat_hosts, conductor, hosts, timeout=interval))
    service.on_stop.append(placement.close)
    return service


def build_http_app(settings: Settings, messaging: Messaging, placement_url: str | None, *,
                   compute: bool = True, placement: bool = False, prefixed: bool = True
                   ) -> FastAPI:
    """One HTTP app serving the chosen APIs; ``prefixed`` puts each under its path.

    With ``[auth] strategy = builtin`` the compute API process also serves the identity
    subset at /identity; it always serves the network API (a Neutron subset) at
    /networking.
    """
    from fastapi import FastAPI

    from common.body_limits import BodyLimits
    from compute_api.app import (
        close_runtime,
        create_compute_app,
        create_identity_app,
        create_image_app,
        create_network_app,
        open_runtime,
    )
    from placement.app import create_app as create_placement_app

    children: list[tuple[str, FastAPI]] = []
    runtime_apps: list[FastAPI] = []
    catalog: dict[str, str] = {}
    if placement:
        children.append(("/placement", create_placement_app(settings)))
        catalog["placement"] = "/placement"
    elif placement_url:
        catalog["placement"] = placement_url
    if compute:
        limits = BodyLimits(settings.limits.max_request_body_size,
                            settings.limits.max_json_depth)
        image_app, compute_app = create_image_app(limits), create_compute_app(limits)
        runtime_apps = [image_app, compute_app]
        if settings.auth.strategy == "builtin":
            identity_app = create_identity_app(limits)
            runtime_apps.append(identity_app)
            children.append(("/identity", identity_app))
            catalog["identity"] = "/identity"
        if settings.images.backend == "glance" and settings.images.glance_url:
            # Images live in an external Glance: /image is not served.
            runtime_apps.remove(image_app)
            catalog["image"] = settings.images.glance_url.rstrip("/")
        else:
            children.append(("/image", image_app))
            catalog["image"] = "/image"
        if settings.network.backend == "neutron" and settings.network.neutron_url:
            # Ports live in an external Neutron: /networking is not served.
            catalog["network"] = settings.network.neutron_url.rstrip("/")
        else:
            network_app = create_network_app(limits)
            runtime_apps.append(network_app)
            children.append(("/networking", network_app))
            catalog["network"] = "/networking"
        children.append(("/compute" if prefixed else "", compute_app))
        catalog["compute"] = "/compute/v2.1" if prefixed else "/v2.1"

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        async with contextlib.AsyncExitStack() as stack:
            for _, child in children:
                await stack.enter_async_context(child.router.lifespan_context(child))
            runtime: Any = None
            if runtime_apps:
                runtime = open_runtime(settings, messaging, catalog)
                for child in runtime_apps:
                    child.state.runtime = runtime
            try:
                yield
            finally:
                if runtime is not None:
                    close_runtime(runtime)

    root = FastAPI(lifespan=lifespan, openapi_url=None, docs_url=None, redoc_url=None)
    for path, child in children:
        root.mount(path or "/", child)
    return root
