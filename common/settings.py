"""Configuration: one TOML file, every key overridable by an environment variable.

``KILONOVA_<SECTION>__<KEY>`` overrides ``[section] key`` (for example
``KILONOVA_DATABASE__COMPUTE_URL``). Unknown keys and wrong types are refused at
start-up with a message naming the key.
"""

from __future__ import annotations

import os
import socket
import tomllib
from pathlib import Path
from typing import Any, ClassVar, Literal

import platformdirs
from pydantic import BaseModel, ConfigDict, Field, ValidationError
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict

from common.errors import ConfigError

CONFIG_ENV = "KILONOVA_CONFIG"


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid")


class DatabaseSettings(_Section):
    compute_url: str | None = Field(
        None, description="SQLAlchemy URL of the compute database; empty: SQLite in data_dir"
    )
    placement_url: str | None = Field(
        None, description="SQLAlchemy URL of the placement database; empty: SQLite in data_dir"
    )
    pool_size: int = Field(
        10, ge=1, description="Connections a process keeps open to each database (not "
        "SQLite); a distributed stack idles with about this many per service process",
    )
    max_pool: int = Field(
        20, ge=1, description="Most connections a process opens to each database; mind "
        "the server's max_connections across every process",
    )
    pool_timeout: float = Field(
        10.0, gt=0, description="Seconds a request waits for a free connection before "
        "it is answered 503 with Retry-After",
    )


class MessagingSettings(_Section):
    transport_url: str = Field(
        "kombu+memory:////",
        description="oslo.messaging transport: rabbit://user:pass@host:5672/vhost in production",
    )
    rpc_timeout: int = Field(60, ge=1, description="Seconds an RPC call waits for its answer")
    topic_prefix: str = Field(
        "", max_length=64, pattern=r"^[A-Za-z0-9_.-]*$",
        description="Prefix of every RPC topic, so that several clouds can share one "
        "virtual host without hearing each other")
    heartbeat_rate: int = Field(
        3, ge=1, le=60, description="AMQP heartbeat checks per 60 s heartbeat window; a "
        "consumer also notices a stop this often, so higher stops services sooner (up to "
        "10 s per consumer at 3, 1 s at 30) for a little more idle traffic")
    rpc_conn_pool_size: int = Field(
        30, ge=2, le=1000, description="Broker connections a process keeps for sending "
        "calls and casts: as many calls as this wait for answers at once")
    executor_thread_pool_size: int = Field(
        64, ge=1, le=1000, description="Threads each RPC server of a process runs its "
        "messages on: a scheduler's concurrent decisions, a conductor's concurrent flows")


class ApiSettings(_Section):
    host: str = Field("127.0.0.1", description="Address the HTTP server listens on")
    port: int = Field(8774, ge=0, le=65535, description="Port of the compute API")
    public_url: str | None = Field(
        None, description="Base URL clients use to reach the compute API (links, catalog)"
    )
    max_limit: int = Field(1000, ge=1, description="Largest page a list request returns")
    enable_instance_password: bool = Field(
        True, description="Set and answer an adminPass on rebuild and rescue (upstream's "
        "option of the same name)"
    )


class PlacementSettings(_Section):
    url: str | None = Field(
        None, description="Placement endpoint other services call; empty: in-process placement"
    )
    host: str = Field("127.0.0.1", description="Address `serve placement` listens on")
    port: int = Field(8778, ge=0, le=65535, description="Port of `serve placement`")
    timeout: float = Field(30.0, gt=0, description="Seconds a placement HTTP call may take")
    workers: int = Field(
        1, ge=1, description="Processes `serve placement` forks to share its port; on "
        "PostgreSQL, up to one per CPU (SQLite serialises writers: keep 1)"
    )
    answer_cache: bool = Field(
        True, description="Reuse a rendered allocation-candidates answer while providers "
        "and allocations are unchanged (PostgreSQL); false: compute every answer",
    )


class AuthSettings(_Section):
    strategy: Literal["noauth", "builtin", "keystone"] = Field(
        "builtin",
        description="Token checking. builtin (default): the Keystone v3 subset at /identity "
        "issues signed tokens for users kept in the compute database; keystone: tokens "
        "are validated by the Keystone of [keystone]; noauth (development only, never "
        "the default): the token is `user:project` (user `admin` has the admin role) "
        "or, as upstream's noauth2, a user name with X-Roles / X-Project-Id / "
        "OpenStack-System-Scope headers",
    )
    policy_file: str | None = Field(
        None, description="YAML or JSON file of policy rules overriding the defaults "
        "(`kilonova policy sample` lists them); re-read when it changes",
    )


class CorsSettings(_Section):
    """Cross-origin requests from browsers (placement); off unless ``allowed_origin``."""

    allowed_origin: list[str] = Field(
        default_factory=list, description="Origins (scheme://host[:port]) browsers may call "
        "from; empty: no CORS headers at all")
    allow_credentials: bool = Field(True, description="Tell browsers they may send cookies")
    expose_headers: list[str] = Field(
        default_factory=lambda: ["X-Auth-Token", "X-Openstack-Request-Id",
                                 "X-Subject-Token", "X-Service-Token",
                                 "OpenStack-API-Version"],
        description="Response headers scripts may read")
    max_age: int | None = Field(None, ge=0, description="Seconds a preflight answer is cached")
    allow_methods: list[str] = Field(
        default_factory=lambda: ["GET", "PUT", "POST", "DELETE", "PATCH"],
        description="Methods a preflight may ask for")
    allow_headers: list[str] = Field(
        default_factory=lambda: ["X-Auth-Token", "X-Openstack-Request-Id", "X-Identity-Status",
                                 "X-Roles", "X-Service-Catalog", "X-User-Id", "X-Tenant-Id",
                                 "OpenStack-API-Version"],
        description="Request headers a preflight may ask for")


class KeystoneSettings(_Section):
    auth_url: str | None = Field(
        None, description="Keystone (identity v3) endpoint the services validate tokens "
        "with and get their own tokens from, e.g. http://keystone:5000/v3",
    )
    www_authenticate_uri: str | None = Field(
        None, description="Identity endpoint 401 answers point clients to; empty: auth_url"
    )
    username: str = Field("kilonova", description="Service user that validates tokens")
    password: str | None = Field(None, description="The service user's password")
    project_name: str = Field("service", description="Project of the service user's token")
    user_domain_name: str = Field("Default", description="Domain of the service user")
    project_domain_name: str = Field("Default", description="Domain of its project")
    cache_ttl: float = Field(
        300.0, ge=0, description="Seconds a validated token is remembered (never past "
        "its expiry); 0: ask Keystone every time",
    )
    timeout: float = Field(10.0, gt=0, description="Seconds a call to Keystone may take")


class ImagesSettings(_Section):
    backend: Literal["builtin", "glance"] = Field(
        "builtin", description="builtin: the Glance v2 subset at /image, images in the "
        "compute database; glance: an external Glance at glance_url (/image not served)",
    )
    glance_url: str | None = Field(
        None, description="Glance endpoint (without /v2) when backend = glance"
    )
    size_cap: int = Field(
        1099511627776, ge=0, le=2**63 - 1, description="Largest image upload in bytes "
        "(Glance's image_size_cap, 1 TiB); a larger one is refused with 413, nothing is "
        "kept and the image stays queued",
    )


class IdentitySettings(_Section):
    token_ttl: int = Field(3600, ge=60, description="Seconds a builtin token stays valid")
    key_file: str | None = Field(
        None, description="HMAC key signing builtin tokens; empty: keys/token.key in data_dir "
        "(created on first start; every API and placement process must share it)",
    )
    region: str = Field("RegionOne", description="Region name in the service catalog")
    admin_user: str = Field("admin", description="User `serve all` bootstraps")
    admin_project: str = Field("admin", description="Project `serve all` bootstraps")
    admin_password: str | None = Field(
        None, description="Bootstrap admin password; empty: generated and printed once",
    )
    lockout_failure_attempts: int = Field(
        5, ge=0, description="Wrong passwords in a row that lock a user out (0: never)",
    )
    lockout_duration: int = Field(
        300, ge=1, description="Seconds a locked-out user is refused, even the right password",
    )
    source_failure_attempts: int = Field(
        20, ge=0, description="Failed logins from one client address, within "
        "source_failure_window, before it is refused with 429 (0: never; per API process)",
    )
    source_failure_window: int = Field(
        60, ge=1, description="Seconds over which source_failure_attempts are counted",
    )


class AgentAuthSettings(_Section):
    username: str | None = Field(
        None, description="A compute agent's own service user (builtin auth): created with "
        "`kilonova agent credential HOST`; it may act for its hosts only",
    )
    password: str | None = Field(None, description="That user's password")
    project_name: str = Field("service", description="Project of the agent's token")
    auth_url: str | None = Field(
        None, description="Identity endpoint the agent gets its tokens from; empty: "
        "/identity beside the compute API of [api]",
    )


class LimitsSettings(_Section):
    max_request_body_size: int = Field(
        114688, ge=1024, description="Largest request body in bytes the compute, identity "
        "and image APIs accept (image data has [images] size_cap); larger: 413, as "
        "upstream's request size limit",
    )
    placement_max_request_body_size: int = Field(
        10485760, ge=1024, description="Largest request body in bytes placement accepts "
        "(bulk allocation writes and reshapes are large); larger: 413",
    )
    max_json_depth: int = Field(
        32, ge=4, le=200, description="Deepest nesting of arrays and objects a JSON "
        "request body may have (the deepest valid body nests 6); deeper: 400",
    )


class QuotaSettings(_Section):
    instances: int = Field(10, ge=-1, description="Default servers per project (-1: no limit)")
    cores: int = Field(20, ge=-1, description="Default vCPUs per project")
    ram: int = Field(51200, ge=-1, description="Default MiB of RAM per project")
    metadata_items: int = Field(128, ge=-1, description="Default metadata items per server")
    key_pairs: int = Field(100, ge=-1, description="Default key pairs per user")
    server_groups: int = Field(10, ge=-1, description="Default server groups per project")
    server_group_members: int = Field(10, ge=-1, description="Default servers per group")
    injected_files: int = Field(5, ge=-1, description="Default injected files (before 2.57)")
    injected_file_content_bytes: int = Field(10240, ge=-1, description="Bytes per file")
    injected_file_path_bytes: int = Field(255, ge=-1, description="Bytes per file path")


# Upstream's filter class names; the scheduler knows more (aggregate ones) to enable.
DEFAULT_SCHEDULER_FILTERS = (
    "ComputeFilter", "RetryFilter", "AvailabilityZoneFilter", "RequestedDestinationFilter",
    "ImagePropertiesFilter", "ServerGroupAffinityFilter", "ServerGroupAntiAffinityFilter",
    "SameHostFilter", "DifferentHostFilter",
)


class SchedulerSettings(_Section):
    max_attempts: int = Field(3, ge=1, description="Hosts tried per server before ERROR")
    candidate_limit: int = Field(
        1000, ge=1, description="Allocation candidates asked of placement per request"
    )
    ram_weight_multiplier: float = Field(1.0, description="Weight of free RAM when spreading")
    cpu_weight_multiplier: float = Field(1.0, description="Weight of free vCPUs when spreading")
    soft_affinity_weight_multiplier: float = Field(
        10.0, ge=0, description="Pull of soft-affinity group members, against spreading"
    )
    soft_anti_affinity_weight_multiplier: float = Field(
        10.0, ge=0, description="Push of soft-anti-affinity group members apart"
    )
    disk_weight_multiplier: float = Field(1.0, description="Weight of free disk when spreading")
    num_instances_weight_multiplier: float = Field(
        0.0, description="Weight of the servers already on a host: positive packs, "
        "negative spreads"
    )
    build_failure_weight_multiplier: float = Field(
        1000000.0, ge=0, description="Push away from hosts where builds failed recently"
    )
    silent_hosts_wait: float = Field(
        30.0, ge=0, description="When every compute host's heartbeat has lapsed at once "
        "(a message bus or database outage rather than every host dying), seconds a "
        "decision waits for heartbeats to resume before it filters the hosts as down"
    )
    shuffle_best_same_weighed_hosts: bool = Field(
        True, description="Order hosts of equal weight differently in each scheduler "
        "process (by name when false): schedulers running side by side then pick "
        "different ones of many equally free hosts instead of the same first"
    )
    build_failure_window: float = Field(
        3600.0, gt=0, description="Seconds a failed build on a host counts against it"
    )
    enabled_filters: list[str] = Field(
        default_factory=lambda: list(DEFAULT_SCHEDULER_FILTERS),
        description="Host filters, in order (upstream's names)",
    )
    default_schedule_zone: str | None = Field(
        None, description="Availability zone of servers created without one"
    )


class ConductorSettings(_Section):
    build_timeout: int = Field(
        600, ge=1, description="Seconds a server may stay in a building task state"
    )
    task_timeout: int = Field(
        600, ge=1, description="Seconds any other transient task state may last"
    )
    sweep_interval: float = Field(
        10.0, gt=0, description="Seconds between sweeps for expired tasks and leftovers"
    )
    allow_resize_to_same_host: bool = Field(
        False, description="Let a resize stay on the server's host (upstream's option)"
    )
    redrive_after: float = Field(
        30.0, gt=0, description="Seconds a build may wait in scheduling with no conductor "
        "on it, or in spawning with no answer from its agent, before a conductor drives it "
        "again from its record (casts lost in a broker or process crash)"
    )
    scheduler_attempts: int = Field(
        3, ge=1, description="Times a scheduler call that got no answer is sent again (the "
        "same claim, so never twice) before the build fails"
    )
    scheduler_retry_pause: float = Field(
        1.0, ge=0, description="Seconds before the first resend of an unanswered "
        "scheduler call; doubles each time"
    )


class ComputeSettings(_Section):
    driver: Literal["fake", "libvirt"] = Field("fake", description="Hypervisor driver")
    host: str = Field(default_factory=socket.gethostname, description="This host's name")
    fake_hosts: int = Field(
        1, ge=1, description="With the fake driver: simulated hosts served by this process"
    )
    fake_vcpus: int = Field(16, ge=1, description="vCPUs of each simulated host")
    fake_memory_mb: int = Field(16384, ge=1, description="RAM of each simulated host")
    fake_disk_gb: int = Field(500, ge=1, description="Disk of each simulated host")
    fake_spawn_seconds: float = Field(
        0.0, ge=0, description="Simulated time a fake spawn takes"
    )
    fake_state_dir: Path | None = Field(
        None, description="With the fake driver: directory where simulated guests are "
        "kept across agent restarts, as a hypervisor keeps them; empty: in memory only"
    )
    cpu_allocation_ratio: float = Field(4.0, gt=0, description="VCPU overcommit")
    ram_allocation_ratio: float = Field(1.0, gt=0, description="MEMORY_MB overcommit")
    disk_allocation_ratio: float = Field(1.0, gt=0, description="DISK_GB overcommit")
    reserved_host_memory_mb: int = Field(0, ge=0, description="RAM kept for the host")
    reserved_host_cpus: int = Field(0, ge=0, description="vCPUs kept for the host")
    reserved_host_disk_gb: int = Field(0, ge=0, description="Disk kept for the host")
    sync_interval: float = Field(
        30.0, gt=0, description="Seconds between reconciling the driver with the database"
    )
    reclaim_instance_interval: int = Field(
        0, ge=0, description="Seconds a deleted server stays SOFT_DELETED (restorable) "
        "before it is reclaimed; 0: deletes are immediate (upstream's option)"
    )
    shelved_offload_time: int = Field(
        0, ge=-1, description="Seconds a SHELVED server keeps its host before it is "
        "offloaded; 0: at once, -1: never (upstream's option)"
    )
    vif_plugging_timeout: float = Field(
        300.0, ge=0, description="Seconds a spawn waits for its ports to be wired by the "
        "host's data plane (upstream's option); 0: no limit"
    )
    vif_plugging_is_fatal: bool = Field(
        True, description="Whether ports not wired (a failure or the timeout) fail the "
        "spawn (rescheduled); false: the guest starts and the ports stay DOWN"
    )


class NetworkSettings(_Section):
    """Where servers' ports live, and the data plane a compute agent programs on its host
    (``compute_agent/network``)."""

    backend: Literal["builtin", "neutron"] = Field(
        "builtin", description="builtin: the Neutron v2.0 subset at /networking, ports in "
        "the compute database, the data plane programmed by the compute agents; neutron: "
        "an external Neutron at neutron_url makes and wires the ports (/networking is not "
        "served; the conductor creates, binds and releases the servers' ports with the "
        "service credentials, the API checks requested networks and ports with the "
        "caller's token)",
    )
    neutron_url: str | None = Field(
        None, description="Neutron endpoint (without /v2.0) when backend = neutron"
    )
    neutron_timeout: float = Field(
        30.0, gt=0, description="Seconds a call to Neutron may take"
    )
    neutron_username: str | None = Field(
        None, description="The user the conductor makes, binds and releases ports in "
        "Neutron as (an admin of Neutron, as Nova's [neutron] user); empty: the services' "
        "own credentials ([keystone] service user with [auth] strategy = keystone)",
    )
    neutron_password: str | None = Field(None, description="That user's password")
    neutron_project_name: str = Field("service", description="Project of that user's token")
    neutron_auth_url: str | None = Field(
        None, description="Identity endpoint that user's token comes from; empty: "
        "[keystone] auth_url",
    )
    physical_interface_mappings: dict[str, str] = Field(
        default_factory=dict, description="Physical network name -> this host's interface "
        "carrying it (flat networks are bridged to it, vlan ones to `<interface>.<vid>`)",
    )
    local_ip: str | None = Field(
        None, description="This host's VTEP address: the source of its VXLAN traffic, "
        "and where other hosts send theirs",
    )
    namespace: str | None = Field(
        None, description="Network namespace the data plane works in (its bridges, "
        "taps, firewall); empty: the host's own. Its DHCP and router namespaces are "
        "named after it",
    )
    state_dir: Path | None = Field(
        None, description="Where DHCP hosts files and pid files live; empty: "
        "<data_dir>/network",
    )
    dataplane: bool | None = Field(
        None, description="Whether the agent programs the host's network (bridges, "
        "VXLAN, firewall, DHCP, routers, metadata); empty: yes with the libvirt driver, "
        "no with the fake one (simulated hosts program nothing)",
    )


class LibvirtSettings(_Section):
    uri: str = Field(
        "", description="libvirt connection URI; empty: qemu:///system (lxc:///system for lxc)"
    )
    virt_type: Literal["qemu", "kvm", "lxc"] = Field(
        "kvm", description="Guest type: kvm (hardware), qemu (TCG emulation) or lxc"
    )
    instances_path: Path | None = Field(
        None, description="Directory of per-instance files; empty: <data_dir>/instances"
    )
    image_cache_path: Path | None = Field(
        None, description="Directory of cached base images; empty: <instances_path>/_base"
    )
    image_url: str | None = Field(
        None, description="Image API (Glance v2) endpoint; empty: the embedded one at "
        "http://<api host>:<api port>/image"
    )
    image_token: str | None = Field(
        None, description="Token the agent sends to the image API; empty: the services' token"
    )
    network: str | None = Field(
        None, description="libvirt network guests' interfaces join; empty: none"
    )
    bridge: str | None = Field(
        None, description="Host bridge guests' interfaces join (when no network is set)"
    )
    shutdown_timeout: float = Field(
        60.0, ge=0, description="Seconds a graceful shutdown may take before destroy"
    )
    live_migration_uri: str = Field(
        "qemu+tcp://{host}/system", description="URI of a destination host's libvirtd"
    )
    live_migration_inbound_addr: str | None = Field(
        None, description="Migration data URI on this host (tcp://addr); empty: libvirt's"
    )
    live_migration_bandwidth: int = Field(
        0, ge=0, description="MiB/s a live migration may use; 0: unlimited"
    )
    live_migration_completion_timeout: float = Field(
        800.0, gt=0, description="Seconds a live migration may take before it is aborted"
    )
    console_log_max_bytes: int = Field(
        1048576, ge=1024, description="Bytes of console log read for console output"
    )


class ServiceSettings(_Section):
    heartbeat_interval: float = Field(10.0, gt=0, description="Seconds between heartbeats")
    service_down_time: float = Field(
        60.0, gt=0, description="A service without a heartbeat for this long is down"
    )
    graceful_shutdown_timeout: float = Field(
        60.0, gt=0, description="Seconds a stopping service may spend finishing its work "
        "(in-flight messages, requests) before it exits anyway"
    )


class LogSettings(_Section):
    level: str = Field("INFO", description="Log level")
    format: Literal["text", "json"] = Field("text", description="text or json lines")


def default_data_dir() -> Path:
    return Path(platformdirs.user_data_dir("kilonova"))


class Settings(BaseSettings):
    """Every option of every service."""

    model_config = SettingsConfigDict(
        env_prefix="KILONOVA_", env_nested_delimiter="__", extra="forbid"
    )
    _toml_path: ClassVar[Path | None] = None

    data_dir: Path = Field(
        default_factory=default_data_dir, description="Where SQLite files and images live"
    )
    database: DatabaseSettings = Field(default_factory=DatabaseSettings)
    messaging: MessagingSettings = Field(default_factory=MessagingSettings)
    api: ApiSettings = Field(default_factory=ApiSettings)
    placement: PlacementSettings = Field(default_factory=PlacementSettings)
    auth: AuthSettings = Field(default_factory=AuthSettings)
    identity: IdentitySettings = Field(default_factory=IdentitySettings)
    keystone: KeystoneSettings = Field(default_factory=KeystoneSettings)
    agent_auth: AgentAuthSettings = Field(default_factory=AgentAuthSettings)
    cors: CorsSettings = Field(default_factory=CorsSettings)
    images: ImagesSettings = Field(default_factory=ImagesSettings)
    limits: LimitsSettings = Field(default_factory=LimitsSettings)
    quota: QuotaSettings = Field(default_factory=QuotaSettings)
    scheduler: SchedulerSettings = Field(default_factory=SchedulerSettings)
    conductor: ConductorSettings = Field(default_factory=ConductorSettings)
    compute: ComputeSettings = Field(default_factory=ComputeSettings)
    libvirt: LibvirtSettings = Field(default_factory=LibvirtSettings)
    network: NetworkSettings = Field(default_factory=NetworkSettings)
    service: ServiceSettings = Field(default_factory=ServiceSettings)
    log: LogSettings = Field(default_factory=LogSettings)

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        # Precedence: explicit arguments > environment > TOML file > defaults.
        return (init_settings, env_settings, _TomlSource(settings_cls, cls._toml_path))

    @property
    def compute_db_url(self) -> str:
        return self.database.compute_url or f"sqlite:///{self.data_dir / 'compute.sqlite'}"

    @property
    def placement_db_url(self) -> str:
        return self.database.placement_url or f"sqlite:///{self.data_dir / 'placement.sqlite'}"


class _TomlSource(PydanticBaseSettingsSource):
    def __init__(self, settings_cls: type[BaseSettings], path: Path | None) -> None:
        super().__init__(settings_cls)
        self._data: dict[str, Any] = {}
        if path is not None:
            with path.open("rb") as fh:
                self._data = tomllib.load(fh)

    def get_field_value(self, field: Any, field_name: str) -> tuple[Any, str, bool]:
        return self._data.get(field_name), field_name, False

    def __call__(self) -> dict[str, Any]:
        return dict(self._data)


def load_settings(path: str | Path | None = None, **overrides: Any) -> Settings:
    """Read the TOML file (``path``, else ``$KILONOVA_CONFIG``, else none) and the environment.

    Raises ConfigError naming every bad key.
    """
    chosen = path or os.environ.get(CONFIG_ENV)
    toml_path = Path(chosen) if chosen else None
    if toml_path is not None and not toml_path.is_file():
        raise ConfigError(f"config file {toml_path} does not exist")
    Settings._toml_path = toml_path
    try:
        return Settings(**overrides)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"config file {toml_path}: {exc}") from exc
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in err['loc'])}: {err['msg']}" for err in exc.errors()
        )
        raise ConfigError(f"invalid configuration: {problems}") from exc
    finally:
        Settings._toml_path = None


def render_sample() -> str:
    """A commented TOML file listing every option with its default."""
    lines = [
        "# Kilonova configuration. Every key can be overridden by an environment variable",
        "# KILONOVA_<SECTION>__<KEY>, for example KILONOVA_DATABASE__COMPUTE_URL.",
        "",
        f"# {Settings.model_fields['data_dir'].description}",
        '# data_dir = "/var/lib/kilonova"',
    ]
    for name, field in Settings.model_fields.items():
        annotation = field.annotation
        if not (isinstance(annotation, type) and issubclass(annotation, _Section)):
            continue
        lines += ["", f"[{name}]"]
        for key, sub in annotation.model_fields.items():
            default = sub.get_default(call_default_factory=True)
            lines.append(f"# {sub.description}")
            lines.append(f"# {key} = {_toml_value(default, key)}")
    return "\n".join(lines) + "\n"


def _toml_value(value: Any, key: str) -> str:
    if key == "host" and isinstance(value, str) and value not in ("127.0.0.1", "0.0.0.0"):
        return '"<hostname>"'
    if value is None:
        return '""'
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, list | tuple):
        return "[" + ", ".join(_toml_value(item, "") for item in value) + "]"
    return '"' + str(value).replace("\\", "\\\\").replace('"', '\\"') + '"'
