"""Source profiles on real exports and on the header rows of each format as
published (Azure Migrate's template, AWS Migration Hub's template, Cloud
Migration Factory's intake form, ServiceNow list exports, NetBox and Snipe-IT
exports and API objects, RVTools 4.x): detection, ties, and mapping plans in
which two columns never silently fill one asset column.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest

from discovery_wiring import profiles
from discovery_wiring.profiles import (
    CatalogError,
    detect,
    load_catalog,
    merge_overrides,
    plan_mappings,
    unit_from_header,
)
from discovery_wiring.readers import open_source

REAL = Path(__file__).resolve().parent / "data" / "real-exports"
RVTOOLS = REAL / "rvtools-sizing-workshop"
SAMPLE = Path(profiles.__file__).parent / "data" / "netbox-demo-inventory.csv"

# Header rows of each format, as its documentation, template or API shows them.
AZURE = ["*Server name", "IP addresses", "*Cores", "*Memory (In MB)", "*OS name", "OS version", "OS architecture",
         "Server type", "Hypervisor", "CPU utilization percentage", "Memory utilization percentage", "Network adapters",
         "Network In throughput", "Network Out throughput", "Boot type", "Number of disks", "Storage in use (In GB)",
         "Disk 1 size (In GB)", "Disk 1 read throughput (MB per second)", "Disk 1 write throughput (MB per second)",
         "Disk 1 read ops (operations per second)", "Disk 1 write ops (operations per second)", "Disk 2 size (In GB)",
         "Disk 2 read throughput (MB per second)", "Disk 2 write throughput (MB per second)",
         "Disk 2 read ops (operations per second)", "Disk 2 write ops (operations per second)",
         "Hypervisor version number", "Virtual machine ID", "Virtual machine manager ID", "MAC address", "BIOS GUID",
         "FQDN", "Number of network adapters"]
AWS = ["ExternalId", "SMBiosId", "IPAddress", "MACAddress", "HostName", "VMware.MoRefId", "VMware.VCenterId",
       "CPU.NumberOfProcessors", "CPU.NumberOfCores", "CPU.NumberOfLogicalCores", "OS.Name", "OS.Version",
       "VMware.VMName", "RAM.TotalSizeInMB", "RAM.UsedSizeInMB.Avg", "RAM.UsedSizeInMB.Max", "CPU.UsagePct.Avg",
       "CPU.UsagePct.Max", "DiskReadsPerSecondInKB.Avg", "DiskWritesPerSecondInKB.Avg", "DiskReadsPerSecondInKB.Max",
       "DiskWritesPerSecondInKB.Max", "DiskReadsOpsPerSecond.Avg", "DiskWritesOpsPerSecond.Avg",
       "DiskReadsOpsPerSecond.Max", "DiskWritesOpsPerSecond.Max", "NetworkReadsPerSecondInKB.Avg",
       "NetworkWritesPerSecondInKB.Avg", "NetworkReadsPerSecondInKB.Max", "NetworkWritesPerSecondInKB.Max",
       "Applications", "ApplicationWave", "Tags", "ServerId"]
CMF = ["wave_name", "app_name", "aws_accountid", "aws_region", "server_name", "server_os_family", "server_os_version",
       "server_fqdn", "server_tier", "server_environment", "r_type", "subnet_IDs", "securitygroup_IDs",
       "subnet_IDs_test", "securitygroup_IDs_test", "instanceType", "tenancy", "iamRole"]
SERVICENOW_FIELDS = ["name", "sys_id", "asset_tag", "serial_number", "ip_address", "host_name", "fqdn", "dns_domain",
                     "os", "os_version", "cpu_count", "cpu_core_count", "ram", "disk_space", "manufacturer", "model_id",
                     "location", "department", "assigned_to", "support_group", "managed_by", "owned_by", "environment",
                     "operational_status", "install_status", "sys_class_name", "virtual", "u_application_tier",
                     "u_patch_group"]
SERVICENOW_LABELS = ["Name", "Class", "Serial number", "Asset tag", "IP Address", "Operating System", "OS Version",
                     "CPU count", "CPU core count", "RAM (MB)", "Disk space (GB)", "Location", "Operational status",
                     "Sys ID", "Support group", "Most recent discovery"]
NETBOX_DEVICES_CSV = ["ID", "Name", "Status", "Tenant", "Site", "Location", "Rack", "Role", "Manufacturer", "Type",
                      "Platform", "Serial number", "Asset tag", "IP Address", "IPv4 Address", "IPv6 Address"]
NETBOX_DEVICES_API = ["id", "url", "display_url", "display", "name", "device_type", "role", "tenant", "platform",
                      "serial", "asset_tag", "site", "location", "rack", "position", "face", "latitude", "longitude",
                      "parent_device", "status", "airflow", "primary_ip", "primary_ip4", "primary_ip6", "oob_ip",
                      "cluster", "virtual_chassis", "vc_position", "vc_priority", "description", "comments",
                      "config_template", "config_context", "local_context_data", "tags", "custom_fields", "created",
                      "last_updated", "console_port_count", "interface_count"]
NETBOX_VMS_CSV = ["ID", "Name", "Status", "Site", "Cluster", "Device", "Role", "Tenant", "Platform", "vCPUs",
                  "Memory (MB)", "Disk (GB)", "IPv4 Address", "IPv6 Address", "IP Address", "Description"]
NETBOX_VMS_API = ["id", "url", "display_url", "display", "name", "status", "site", "cluster", "device", "serial",
                  "role", "tenant", "platform", "primary_ip", "primary_ip4", "primary_ip6", "vcpus", "memory", "disk",
                  "description", "comments", "config_template", "local_context_data", "tags", "custom_fields",
                  "config_context", "created", "last_updated", "interface_count", "virtual_disk_count"]
SNIPEIT_EXPORT = ["ID", "Company", "Asset Name", "Asset Tag", "Serial", "Model", "Model No.", "Category", "Status",
                  "Checked Out To", "Location", "Default Location", "Manufacturer", "Supplier", "Purchase Date",
                  "Purchase Cost", "Order Number", "Warranty", "Warranty Expires", "Notes", "Created At", "Updated At"]
SNIPEIT_API = ["id", "name", "asset_tag", "serial", "model", "model_number", "eol", "status_label", "category",
               "manufacturer", "supplier", "notes", "order_number", "company", "location", "rtd_location", "image",
               "qr", "alt_barcode", "assigned_to", "warranty_months", "warranty_expires", "created_at", "updated_at",
               "last_audit_date", "next_audit_date", "deleted_at", "purchase_date", "age", "last_checkout",
               "expected_checkin", "purchase_cost", "checkin_counter", "checkout_counter", "requests_counter",
               "user_can_checkout", "book_value", "custom_fields", "available_actions"]
RVTOOLS4_VINFO = ["VM", "Powerstate", "Template", "SRM Placeholder", "Config status", "DNS Name", "Connection state",
                  "Guest state", "Heartbeat", "Consolidation Needed", "PowerOn", "Suspend time", "Creation date",
                  "Change Version", "CPUs", "Memory", "NICs", "Disks", "Total disk capacity MiB",
                  "min Required EVC Mode Key", "Latency Sensitivity", "EnableUUID", "CBT", "Primary IP Address",
                  "Network #1", "Network #2", "Network #3", "Network #4", "Network #5", "Network #6", "Network #7",
                  "Network #8", "Num Monitors", "Video Ram KiB", "Resource pool", "Folder ID", "Folder", "vApp",
                  "DAS protection", "FT State", "FT Role", "FT Latency", "FT Bandwidth", "FT Sec. Latency",
                  "Provisioned MiB", "In Use MiB", "Unshared MiB", "HA Restart Priority", "HA Isolation Response",
                  "HA VM Monitoring", "Cluster rule(s)", "Cluster rule name(s)", "Boot Required", "Boot delay",
                  "Boot retry delay", "Boot retry enabled", "Boot BIOS setup", "Reboot PowerOff", "EFI Secure boot",
                  "Firmware", "HW version", "HW upgrade status", "HW upgrade policy", "HW target", "Path",
                  "Log directory", "Snapshot directory", "Suspend directory", "Annotation", "NB_LAST_BACKUP",
                  "Patching", "DR", "IT Owners", "Application Type", "Datacenter", "Cluster", "Host",
                  "OS according to the configuration file", "OS according to the VMware Tools", "VM ID", "SMBIOS UUID",
                  "VM UUID", "VI SDK Server type", "VI SDK API Version", "VI SDK Server", "VI SDK UUID"]

HAND_MADE = {
    "azure_migrate_import": AZURE,
    "aws_migration_hub_import": AWS,
    "aws_cloud_migration_factory": CMF,
    "servicenow_cmdb_ci_server": SERVICENOW_FIELDS,
    "servicenow_cmdb_ci_server (labels)": SERVICENOW_LABELS,
    "netbox_devices": NETBOX_DEVICES_CSV,
    "netbox_devices (API)": NETBOX_DEVICES_API,
    "netbox_virtual_machines": NETBOX_VMS_CSV,
    "netbox_virtual_machines (API)": NETBOX_VMS_API,
    "snipeit_assets": SNIPEIT_EXPORT,
    "snipeit_assets (API)": SNIPEIT_API,
    "rvtools_vinfo (RVTools 4.x)": RVTOOLS4_VINFO,
}


def by_source(plan) -> dict:
    return {m.source_field: m for m in plan.mappings}


def assert_one_source_per_target(plan) -> None:
    """Asset columns and external IDs: one source, or a chain of distinct
    priorities; custom attributes: one source each."""
    targets = Counter(m.target_field for m in plan.mappings)
    for target, n in targets.items():
        sharing = [m for m in plan.mappings if m.target_field == target]
        if n > 1:
            assert sharing[0].kind != "custom attribute", target
            priorities = [m.priority for m in sharing]
            assert None not in priorities and len(set(priorities)) == n, (target, priorities)


# -- detection ----------------------------------------------------------------------------------------

@pytest.mark.parametrize("path, sheet, expected", [
    (RVTOOLS / "SizingWorkshop-RVTools.vInfo.csv", None, "rvtools_vinfo"),
    (RVTOOLS / "SizingWorkshop-RVTools.vHost.csv", None, "rvtools_vhost"),
    (RVTOOLS / "SizingWorkshop-RVTools.xlsx", None, "rvtools_vinfo"),
    (RVTOOLS / "SizingWorkshop-RVTools.xlsx", "vHost", "rvtools_vhost"),
])
def test_rvtools_files_detect_their_profile(path, sheet, expected):
    detection = detect(open_source(path, sheet=sheet).headers)
    assert detection.profile is not None and detection.profile.name == expected
    assert detection.scores[0].score == 1.0 and detection.scores[1].score < 0.6
    assert detection.message.startswith(f"profile {expected} (score 1.00")


def test_generic_cmdb_files_detect_the_generic_profile():
    files = [*sorted((REAL / "stock-analysis").glob("*.csv")), SAMPLE]
    assert len(files) == 11
    for path in files:
        detection = detect(open_source(path).headers)
        assert detection.profile is not None and detection.profile.name == "generic_cmdb", path.name


@pytest.mark.parametrize("label", HAND_MADE)
def test_each_format_detects_its_profile(label):
    detection = detect(HAND_MADE[label])
    assert detection.profile is not None and detection.profile.name == label.split()[0]
    best, runner_up = detection.scores[:2]
    assert best.score >= 0.95 and best.score - runner_up.score >= 0.05


def test_a_tie_is_reported_as_a_tie():
    detection = detect(["Name", "Site", "Type"])  # NetBox devices, or any CMDB
    assert detection.profile is None
    assert set(detection.tied) == {"netbox_devices", "generic_cmdb"}
    assert "tie between profiles" in detection.message and "--profile" in detection.message


def test_headers_no_profile_explains_fall_to_the_synonyms():
    detection = detect(["Hostname Alias", "Rack Unit", "Power Draw"])
    assert detection.profile is None and not detection.tied
    assert "synonym dictionary" in detection.message
    assert all(s.score == 0 for s in detection.scores)
    vinfo = next(s for s in detection.scores if s.profile == "rvtools_vinfo")
    assert "VM" in vinfo.missing


# -- mapping plans ------------------------------------------------------------------------------------

def test_rvtools_vinfo_plan():
    catalog = profiles.catalog()
    plan = plan_mappings(RVTOOLS4_VINFO, catalog.profile("rvtools_vinfo"))
    m = by_source(plan)
    assert (m["VM"].target_field, m["VM"].confidence_score) == ("name", 1.0)
    assert (m["Host"].target_field, m["Host"].kind) == ("esxi_host", "custom attribute")
    assert (m["Memory"].target_field, m["Memory"].unit) == ("memory_gb", "MiB")
    assert (m["Provisioned MiB"].target_field, m["Provisioned MiB"].unit) == ("storage_gb", "MiB")
    assert (m["In Use MiB"].kind, m["In Use MiB"].unit) == ("custom attribute", "MiB")
    assert (m["OS according to the VMware Tools"].target_field, m["OS according to the VMware Tools"].priority) == \
        ("operating_system", 1)
    assert m["OS according to the configuration file"].priority == 2
    assert m["VM UUID"].target_field == "external_ids.vm_uuid"
    assert m["SMBIOS UUID"].target_field == "external_ids.bios_uuid"
    assert m["VI SDK UUID"].kind == "custom attribute"  # the vCenter's, shared by all its VMs
    assert (m["IT Owners"].target_field, m["IT Owners"].confidence_score) == ("it_owners", 0.3)
    assert dict(plan.field_defaults) == {"asset_type": "virtual_machine", "discovery_source": "RVTools"}
    assert plan.profile == "rvtools_vinfo"
    assert_one_source_per_target(plan)


def test_api_elements_have_exactly_the_api_shape():
    plan = plan_mappings(RVTOOLS4_VINFO, profiles.catalog().profile("rvtools_vinfo"))
    elements = {e["source_field"]: e for e in plan.api_mappings()}
    assert elements["Memory"] == {"source_field": "Memory", "target_field": "memory_gb", "status": "approved",
                                  "confidence_score": 1.0, "unit": "MiB"}
    assert elements["OS according to the configuration file"]["priority"] == 2
    allowed = {"source_field", "target_field", "status", "confidence_score", "unit", "priority", "value_key"}
    assert all(set(e) <= allowed for e in elements.values()) and len(elements) == len(RVTOOLS4_VINFO)


def test_rvtools_vhost_plan_takes_cores_not_sockets_or_vcpus():
    headers = open_source(RVTOOLS / "SizingWorkshop-RVTools.vHost.csv").headers
    m = by_source(plan_mappings(headers, profiles.catalog().profile("rvtools_vhost")))
    assert m["# Cores"].target_field == "cpu_cores"
    assert (m["# CPU"].kind, m["# vCPUs"].kind) == ("custom attribute", "custom attribute")
    assert (m["# Memory"].target_field, m["# Memory"].unit) == ("memory_gb", "MiB")
    assert m["Host"].target_field == "hostname"


def test_vhost_headers_without_a_profile_still_fill_cpu_cores_once():
    plan = plan_mappings(["Host", "# CPU", "Cores per CPU", "# Cores", "# vCPUs", "# Memory"])
    m = by_source(plan)
    assert [x.source_field for x in plan.mappings if x.target_field == "cpu_cores"] == ["# Cores"]
    assert m["# vCPUs"].why == "second source for cpu_cores (after '# Cores'): kept as custom attribute"
    assert_one_source_per_target(plan)


@pytest.mark.parametrize("label", HAND_MADE)
def test_plans_never_fill_one_target_twice(label):
    headers = HAND_MADE[label]
    profile = profiles.catalog().profile(label.split()[0])
    extra = [*(h.upper() for h in headers), "Server Name", "hostname", "IP", "ip_address", "OS"]
    doubled = list(dict.fromkeys([*headers, *extra]))  # a reader's headers are unique
    for columns, plan in ((headers, plan_mappings(headers, profile)), (doubled, plan_mappings(doubled, profile)),
                          (doubled, plan_mappings(doubled))):
        assert [m.source_field for m in plan.mappings] == list(columns)
        assert_one_source_per_target(plan)


def test_duplicate_sources_keep_the_best_and_say_why():
    plan = plan_mappings(["Server Name", "hostname", "Host", "IP", "IP Address", "OS", "Operating System"])
    m = by_source(plan)
    assert (m["hostname"].target_field, m["hostname"].confidence_score) == ("hostname", 1.0)
    assert m["Server Name"].target_field == "server_name" and "second source for hostname" in m["Server Name"].why
    assert m["Host"].target_field == "host"
    assert m["IP Address"].target_field == "ip_address"  # the asset column's own name beats the synonym "IP"
    assert m["IP"].target_field == "ip"
    assert m["Operating System"].target_field == "operating_system"
    assert m["OS"].target_field == "os"
    assert_one_source_per_target(plan)


@pytest.mark.parametrize("header, unit", [
    ("Memory (MB)", "MB"), ("*Memory (In MB)", "MB"), ("Provisioned MiB", "MiB"), ("ram_gb", "GB"),
    ("RAM.TotalSizeInMB", "MB"), ("Storage TB", "TB"), ("Disk Size (GiB)", "GiB"), ("MemoryMB", "MB"),
    ("disk_space_kb", "KB"), ("Video Ram KiB", "KiB"), ("Disk 1 read throughput (MB per second)", None),
    ("Network In (MB/s)", None),
    ("Memory", None), ("Name", None), ("", None),
])
def test_unit_from_header(header, unit):
    assert unit_from_header(header) == unit


def test_units_of_size_columns_come_from_their_headers():
    m = by_source(plan_mappings(["Name", "Memory (MB)", "Disk_TB", "ram", "CPU (MB per second)"]))
    assert (m["Memory (MB)"].target_field, m["Memory (MB)"].unit, m["Memory (MB)"].confidence_score) == \
        ("memory_gb", "MB", 0.9)
    assert (m["Disk_TB"].target_field, m["Disk_TB"].unit) == ("storage_gb", "TB")
    assert m["ram"].target_field == "ram" and "second source for memory_gb" in m["ram"].why
    assert m["CPU (MB per second)"].unit is None


def test_unknown_headers_get_safe_unique_names():
    long_header = "Comment " * 20
    plan = plan_mappings(["Name", "", "Notes", "notes!", "Notes (2)", long_header, "Kostenstelle Zürich"])
    targets = [m.target_field for m in plan.mappings]
    assert targets == ["name", "column_2", "notes", "notes_2", "notes_2_2", "column_6", "kostenstelle_zürich"]
    assert [m.confidence_score for m in plan.mappings][1:] == [0.3] * 6


def test_merge_overrides_changes_only_the_columns_it_names():
    plan = plan_mappings(RVTOOLS4_VINFO, profiles.catalog().profile("rvtools_vinfo"))
    merged = merge_overrides(plan, {"Host": "hostname", "Memory": "memory_gb", "Extra": "notes"})
    before, after = by_source(plan), by_source(merged)
    assert (after["Host"].target_field, after["Host"].why, after["Host"].confidence_score) == \
        ("hostname", "--mapping", 1.0)
    assert after["Memory"].unit == "MiB"  # same target: the planned unit stays
    assert after["Extra"].target_field == "notes"  # not among the headers: added
    unchanged = set(before) - {"Host", "Memory"}
    assert all(after[s] == before[s] for s in unchanged)
    assert merged.field_defaults == plan.field_defaults and merged.profile == plan.profile


def test_an_override_claims_its_target():
    plan = plan_mappings(RVTOOLS4_VINFO, profiles.catalog().profile("rvtools_vinfo"))
    merged = merge_overrides(plan, [{"source_field": "DNS Name", "target_field": "name"},
                                    {"source_field": "OS according to the configuration file",
                                     "target_field": "operating_system", "priority": 5}])
    m = by_source(merged)
    assert m["DNS Name"].target_field == "name"
    assert (m["VM"].target_field, m["VM"].why) == ("vm", "name taken by --mapping: kept as custom attribute")
    assert m["OS according to the VMware Tools"].priority == 1  # a distinct priority: both stay
    assert m["OS according to the configuration file"].priority == 5
    assert_one_source_per_target(merged)


# -- the catalog --------------------------------------------------------------------------------------

def test_the_shipped_catalog():
    catalog = profiles.catalog()
    assert list(catalog.profiles) == [
        "rvtools_vinfo", "rvtools_vhost", "azure_migrate_import", "aws_migration_hub_import",
        "aws_cloud_migration_factory", "servicenow_cmdb_ci_server", "netbox_devices", "netbox_virtual_machines",
        "snipeit_assets", "generic_cmdb",
    ]
    vinfo = catalog.profile("rvtools_vinfo")
    assert vinfo.default_sheet == "vInfo" and catalog.profile("rvtools_vhost").default_sheet == "vHost"
    assert vinfo.name_columns == ("VM",)
    assert vinfo.external_id_columns == {"VM UUID": "vm_uuid", "SMBIOS UUID": "bios_uuid"}
    assert catalog.profile("servicenow_cmdb_ci_server").external_id_columns["sys_id"] == "servicenow_sys_id"
    assert catalog.profile("netbox_devices").external_id_columns["ID"] == "netbox_device_id"
    with pytest.raises(ValueError, match="no profile 'rvtools'; profiles: rvtools_vinfo, "):
        catalog.profile("rvtools")


@pytest.mark.parametrize("columns, error", [
    ('"A" = { target = "memory_gb" }\n"B" = { target = "memory_gb" }', "need distinct priorities"),
    ('"A" = { target = "memory_gb", unit = "MB" }\n"a" = { target = "notes" }', "are the same header"),
    ('"A" = { target = "memory_gb", unit = "megabytes" }', "unit 'megabytes'"),
    ('"A" = { target = "Memory GB" }', "is not snake_case"),
    ('"A" = { target = "name", colour = "red" }', "unknown keys"),
    ('"A" = { target = "os_version", priority = 0 }', "not a positive integer"),
    ('"B" = { target = "name" }', "required header 'A' is not a column or a known header"),
])
def test_a_broken_catalog_says_what_is_wrong(tmp_path, columns, error):
    path = tmp_path / "profiles.toml"
    path.write_text(f'[profiles.p]\ntitle = "P"\nrequired = [["A"]]\n[profiles.p.columns]\n{columns}\n')
    with pytest.raises(CatalogError, match=error):
        load_catalog(path)


def test_a_known_header_may_not_be_an_asset_column(tmp_path):
    path = tmp_path / "profiles.toml"
    path.write_text('[profiles.p]\ntitle = "P"\nknown = ["Status"]\n')
    with pytest.raises(CatalogError, match="known header 'Status' is the asset column status"):
        load_catalog(path)


def test_identical_profiles_tie(tmp_path):
    spec = 'title = "T"\nrequired = [["Host"]]\n[profiles.{0}.columns]\n"Host" = {{ target = "hostname" }}\n'
    path = tmp_path / "profiles.toml"
    path.write_text("".join(f"[profiles.{name}]\n" + spec.format(name) for name in ("a", "b")))
    detection = detect(["Host"], load_catalog(path))
    assert detection.profile is None and detection.tied == ("a", "b")
