-- The tables of schema `migration`, their tenant-carrying keys and the roles.
--
-- Rules kept here (DESIGN.md, "Invariants"):
--   * every tenant table has client_account_id and engagement_id, primary key
--     (client_account_id, id), and every foreign key between tenant tables
--     carries (client_account_id, engagement_id): a cross-tenant link cannot
--     be written;
--   * link rules live in foreign keys and triggers, never in CHECK or NOT NULL,
--     so that a restore with session_replication_role = replica can load the
--     old platform's unlinked rows until repair_wiring fixes them;
--   * the foreign keys such legacy rows may break are NOT VALID;
--     `discovery-wiring repair --all --validate` validates them;
--   * secondary indexes lead with their selective column: an index led by the
--     tenant prefix fooled the planner into scanning a whole tenant per
--     foreign-key check on a freshly loaded table.
-- depends:

CREATE SCHEMA IF NOT EXISTS migration;
CREATE SCHEMA IF NOT EXISTS discovery_health;

-- Roles are cluster-wide: create them when missing, never drop them.
DO $roles$
BEGIN
    IF NOT EXISTS (SELECT FROM pg_catalog.pg_roles WHERE rolname = 'discovery_owner') THEN
        CREATE ROLE discovery_owner NOLOGIN;
    END IF;
    IF NOT EXISTS (SELECT FROM pg_catalog.pg_roles WHERE rolname = 'discovery_app') THEN
        CREATE ROLE discovery_app NOLOGIN;
    END IF;
    IF NOT EXISTS (SELECT FROM pg_catalog.pg_roles WHERE rolname = 'discovery_analyst') THEN
        CREATE ROLE discovery_analyst NOLOGIN;
    END IF;
END
$roles$;

CREATE TABLE migration.client_accounts (
    id uuid PRIMARY KEY,
    name text NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE migration.engagements (
    client_account_id uuid NOT NULL REFERENCES migration.client_accounts (id),
    id uuid NOT NULL,
    name text NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (client_account_id, id)
);

-- The master flow. flow_id is the public flow ID, unique per client account.
CREATE TABLE migration.crewai_flow_state_extensions (
    client_account_id uuid NOT NULL,
    engagement_id uuid NOT NULL,
    id uuid NOT NULL DEFAULT gen_random_uuid(),
    flow_id uuid NOT NULL,
    flow_type text NOT NULL,
    flow_name text,
    flow_status text NOT NULL DEFAULT 'active',
    flow_persistence_data jsonb NOT NULL DEFAULT '{}',
    user_id text,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (client_account_id, id),
    CONSTRAINT crewai_flow_state_extensions_flow_id_key
    UNIQUE (flow_id, client_account_id),
    CONSTRAINT crewai_flow_state_extensions_tenant_flow_key
    UNIQUE (flow_id, client_account_id, engagement_id),
    CONSTRAINT crewai_flow_state_extensions_engagement_fkey
    FOREIGN KEY (client_account_id, engagement_id)
    REFERENCES migration.engagements (client_account_id, id)
);

CREATE TABLE migration.data_imports (
    client_account_id uuid NOT NULL,
    engagement_id uuid NOT NULL,
    id uuid NOT NULL DEFAULT gen_random_uuid(),
    master_flow_id uuid,
    import_name text NOT NULL,
    import_type text NOT NULL,
    filename text,
    source_system text,
    status text NOT NULL DEFAULT 'pending'
    CHECK (status IN ('pending', 'importing', 'imported', 'processing', 'completed', 'failed')),
    total_records integer NOT NULL DEFAULT 0,
    processed_records integer NOT NULL DEFAULT 0,
    failed_records integer NOT NULL DEFAULT 0,
    imported_by uuid,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (client_account_id, id),
    CONSTRAINT data_imports_tenant_key UNIQUE (id, client_account_id, engagement_id),
    CONSTRAINT data_imports_engagement_fkey
    FOREIGN KEY (client_account_id, engagement_id)
    REFERENCES migration.engagements (client_account_id, id),
    CONSTRAINT data_imports_master_flow_fkey
    FOREIGN KEY (client_account_id, engagement_id, master_flow_id)
    REFERENCES migration.crewai_flow_state_extensions (client_account_id, engagement_id, flow_id)
);

CREATE INDEX data_imports_master_flow_idx
ON migration.data_imports (master_flow_id) WHERE master_flow_id IS NOT NULL;

CREATE TABLE migration.raw_import_records (
    client_account_id uuid NOT NULL,
    engagement_id uuid NOT NULL,
    id uuid NOT NULL DEFAULT gen_random_uuid(),
    data_import_id uuid NOT NULL,
    master_flow_id uuid,
    row_number integer NOT NULL,
    raw_data jsonb NOT NULL,
    cleansed_data jsonb,
    validation_errors jsonb,
    is_valid boolean,
    is_processed boolean NOT NULL DEFAULT FALSE,
    processed_at timestamptz,
    processing_status text
    CHECK (processing_status IN ('created', 'matched', 'conflict', 'invalid')),
    processing_notes text,
    asset_id uuid,
    created_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (client_account_id, id),
    CONSTRAINT raw_import_records_tenant_key UNIQUE (id, client_account_id, engagement_id),
    CONSTRAINT raw_import_records_row_number_key
    UNIQUE (data_import_id, row_number, client_account_id),
    CONSTRAINT raw_import_records_engagement_fkey
    FOREIGN KEY (client_account_id, engagement_id)
    REFERENCES migration.engagements (client_account_id, id),
    CONSTRAINT raw_import_records_data_import_fkey
    FOREIGN KEY (client_account_id, engagement_id, data_import_id)
    REFERENCES migration.data_imports (client_account_id, engagement_id, id),
    CONSTRAINT raw_import_records_master_flow_fkey
    FOREIGN KEY (client_account_id, engagement_id, master_flow_id)
    REFERENCES migration.crewai_flow_state_extensions (client_account_id, engagement_id, flow_id)
);

-- The records create_assets_from_discovery still has to handle.
CREATE INDEX raw_import_records_unprocessed_idx
ON migration.raw_import_records (data_import_id) WHERE NOT is_processed;
CREATE INDEX raw_import_records_asset_idx
ON migration.raw_import_records (asset_id) WHERE asset_id IS NOT NULL;

CREATE TABLE migration.import_field_mappings (
    client_account_id uuid NOT NULL,
    engagement_id uuid NOT NULL,
    id uuid NOT NULL DEFAULT gen_random_uuid(),
    data_import_id uuid NOT NULL,
    source_field text NOT NULL,
    target_field text NOT NULL,
    status text NOT NULL DEFAULT 'suggested'
    CHECK (status IN ('suggested', 'approved', 'rejected')),
    confidence_score numeric(4, 3),
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (client_account_id, id),
    CONSTRAINT import_field_mappings_source_field_key
    UNIQUE (data_import_id, source_field, client_account_id),
    CONSTRAINT import_field_mappings_engagement_fkey
    FOREIGN KEY (client_account_id, engagement_id)
    REFERENCES migration.engagements (client_account_id, id),
    CONSTRAINT import_field_mappings_data_import_fkey
    FOREIGN KEY (client_account_id, engagement_id, data_import_id)
    REFERENCES migration.data_imports (client_account_id, engagement_id, id)
);

-- The child (discovery) flow. id is the discovery flow ID; flow_id is the
-- public ID, equal to its master flow's flow_id.
CREATE TABLE migration.discovery_flows (
    client_account_id uuid NOT NULL,
    engagement_id uuid NOT NULL,
    id uuid NOT NULL DEFAULT gen_random_uuid(),
    flow_id uuid NOT NULL,
    master_flow_id uuid NOT NULL,
    data_import_id uuid,
    flow_name text,
    user_id text,
    status text NOT NULL DEFAULT 'active',
    current_phase text NOT NULL DEFAULT 'data_import',
    data_import_completed boolean NOT NULL DEFAULT FALSE,
    field_mapping_completed boolean NOT NULL DEFAULT FALSE,
    data_cleansing_completed boolean NOT NULL DEFAULT FALSE,
    asset_inventory_completed boolean NOT NULL DEFAULT FALSE,
    phase_state jsonb NOT NULL DEFAULT '{}',
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (client_account_id, id),
    CONSTRAINT discovery_flows_flow_id_key UNIQUE (flow_id, client_account_id),
    CONSTRAINT discovery_flows_tenant_key UNIQUE (id, client_account_id, engagement_id),
    -- Target of assets' (discovery_flow_id, master_flow_id) agreement key.
    CONSTRAINT discovery_flows_master_key
    UNIQUE (id, master_flow_id, client_account_id, engagement_id),
    CONSTRAINT discovery_flows_engagement_fkey
    FOREIGN KEY (client_account_id, engagement_id)
    REFERENCES migration.engagements (client_account_id, id),
    CONSTRAINT discovery_flows_master_flow_fkey
    FOREIGN KEY (client_account_id, engagement_id, master_flow_id)
    REFERENCES migration.crewai_flow_state_extensions (client_account_id, engagement_id, flow_id),
    CONSTRAINT discovery_flows_flow_id_fkey
    FOREIGN KEY (client_account_id, engagement_id, flow_id)
    REFERENCES migration.crewai_flow_state_extensions (client_account_id, engagement_id, flow_id),
    CONSTRAINT discovery_flows_data_import_fkey
    FOREIGN KEY (client_account_id, engagement_id, data_import_id)
    REFERENCES migration.data_imports (client_account_id, engagement_id, id)
);

CREATE INDEX discovery_flows_data_import_idx
ON migration.discovery_flows (data_import_id) WHERE data_import_id IS NOT NULL;

CREATE TABLE migration.assets (
    client_account_id uuid NOT NULL,
    engagement_id uuid NOT NULL,
    id uuid NOT NULL DEFAULT gen_random_uuid(),
    name text,
    asset_name text,
    asset_type text,
    hostname text,
    fqdn text,
    ip_address text,
    mac_address text,
    operating_system text,
    os_version text,
    cpu_cores integer,
    memory_gb numeric,
    storage_gb numeric,
    environment text,
    location text,
    datacenter text,
    application_name text,
    business_owner text,
    technical_owner text,
    department text,
    criticality text,
    custom_attributes jsonb NOT NULL DEFAULT '{}',
    discovery_flow_id uuid,
    master_flow_id uuid,
    flow_id uuid,
    raw_import_records_id uuid,
    field_mappings_used jsonb,
    discovery_method text,
    discovery_source text,
    status text NOT NULL DEFAULT 'active',
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    deleted_at timestamptz,
    PRIMARY KEY (client_account_id, id),
    CONSTRAINT assets_tenant_key UNIQUE (id, client_account_id, engagement_id),
    CONSTRAINT assets_engagement_fkey
    FOREIGN KEY (client_account_id, engagement_id)
    REFERENCES migration.engagements (client_account_id, id)
);

-- Foreign keys that rows restored from the old platform may break: NOT VALID,
-- so such a database can be upgraded, repaired, then validated.
ALTER TABLE migration.assets
ADD CONSTRAINT assets_discovery_flow_fkey
FOREIGN KEY (client_account_id, engagement_id, discovery_flow_id)
REFERENCES migration.discovery_flows (client_account_id, engagement_id, id) NOT VALID;

ALTER TABLE migration.assets
ADD CONSTRAINT assets_master_flow_fkey
FOREIGN KEY (client_account_id, engagement_id, master_flow_id)
REFERENCES migration.crewai_flow_state_extensions (
    client_account_id, engagement_id, flow_id
) NOT VALID;

-- An asset's master flow is its discovery flow's.
ALTER TABLE migration.assets
ADD CONSTRAINT assets_flow_agreement_fkey
FOREIGN KEY (client_account_id, engagement_id, discovery_flow_id, master_flow_id)
REFERENCES migration.discovery_flows (
    client_account_id, engagement_id, id, master_flow_id
) NOT VALID;

ALTER TABLE migration.assets
ADD CONSTRAINT assets_raw_import_record_fkey
FOREIGN KEY (client_account_id, engagement_id, raw_import_records_id)
REFERENCES migration.raw_import_records (client_account_id, engagement_id, id) NOT VALID;

ALTER TABLE migration.raw_import_records
ADD CONSTRAINT raw_import_records_asset_fkey
FOREIGN KEY (client_account_id, engagement_id, asset_id)
REFERENCES migration.assets (client_account_id, engagement_id, id) NOT VALID;

CREATE INDEX assets_discovery_flow_idx
ON migration.assets (discovery_flow_id, created_at DESC, id DESC)
WHERE discovery_flow_id IS NOT NULL;
CREATE INDEX assets_raw_import_record_idx
ON migration.assets (raw_import_records_id) WHERE raw_import_records_id IS NOT NULL;
CREATE INDEX assets_master_flow_idx
ON migration.assets (master_flow_id) WHERE master_flow_id IS NOT NULL;
CREATE INDEX assets_legacy_flow_idx
ON migration.assets (flow_id) WHERE flow_id IS NOT NULL;
-- Paging a tenant's live assets. Partial, so a foreign-key check (which has
-- no deleted_at predicate) can never pick it.
CREATE INDEX assets_tenant_listing_idx
ON migration.assets (client_account_id, engagement_id, created_at DESC, id DESC)
WHERE deleted_at IS NULL;
-- Identity keys (create_assets_from_discovery): led by the key itself.
CREATE INDEX assets_identity_hostname_idx
ON migration.assets (lower(hostname), client_account_id, engagement_id)
WHERE deleted_at IS NULL AND hostname IS NOT NULL;
CREATE INDEX assets_identity_fqdn_idx
ON migration.assets (lower(fqdn), client_account_id, engagement_id)
WHERE deleted_at IS NULL AND fqdn IS NOT NULL;
CREATE INDEX assets_identity_ip_idx
ON migration.assets (ip_address, client_account_id, engagement_id)
WHERE deleted_at IS NULL AND ip_address IS NOT NULL;
CREATE INDEX assets_identity_name_type_idx
ON migration.assets (lower(name), lower(asset_type), client_account_id, engagement_id)
WHERE deleted_at IS NULL AND name IS NOT NULL AND asset_type IS NOT NULL;

-- A raw record whose identity is ambiguous waits here for a person.
CREATE TABLE migration.asset_conflict_resolutions (
    client_account_id uuid NOT NULL,
    engagement_id uuid NOT NULL,
    id uuid NOT NULL DEFAULT gen_random_uuid(),
    discovery_flow_id uuid NOT NULL,
    raw_import_record_id uuid NOT NULL,
    existing_asset_id uuid NOT NULL,
    candidate_asset_ids uuid[] NOT NULL DEFAULT '{}',
    conflict_type text NOT NULL,
    conflict_key text,
    new_asset_data jsonb NOT NULL DEFAULT '{}',
    resolution_status text NOT NULL DEFAULT 'pending'
    CHECK (resolution_status IN ('pending', 'resolved')),
    resolution_action text
    CHECK (resolution_action IN ('keep_existing', 'replace_with_new', 'merge')),
    resolved_asset_id uuid,
    resolved_at timestamptz,
    created_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (client_account_id, id),
    CONSTRAINT asset_conflict_resolutions_engagement_fkey
    FOREIGN KEY (client_account_id, engagement_id)
    REFERENCES migration.engagements (client_account_id, id),
    CONSTRAINT asset_conflict_resolutions_flow_fkey
    FOREIGN KEY (client_account_id, engagement_id, discovery_flow_id)
    REFERENCES migration.discovery_flows (client_account_id, engagement_id, id),
    CONSTRAINT asset_conflict_resolutions_raw_record_fkey
    FOREIGN KEY (client_account_id, engagement_id, raw_import_record_id)
    REFERENCES migration.raw_import_records (client_account_id, engagement_id, id),
    CONSTRAINT asset_conflict_resolutions_existing_asset_fkey
    FOREIGN KEY (client_account_id, engagement_id, existing_asset_id)
    REFERENCES migration.assets (client_account_id, engagement_id, id),
    CONSTRAINT asset_conflict_resolutions_resolved_asset_fkey
    FOREIGN KEY (client_account_id, engagement_id, resolved_asset_id)
    REFERENCES migration.assets (client_account_id, engagement_id, id)
);

-- At most one pending conflict per raw record.
CREATE UNIQUE INDEX asset_conflict_resolutions_pending_key
ON migration.asset_conflict_resolutions (raw_import_record_id, client_account_id)
WHERE resolution_status = 'pending';
CREATE INDEX asset_conflict_resolutions_flow_idx
ON migration.asset_conflict_resolutions (discovery_flow_id, resolution_status);
CREATE INDEX asset_conflict_resolutions_existing_asset_idx
ON migration.asset_conflict_resolutions (existing_asset_id);

-- One row per call of create_assets_from_discovery that handled a record.
CREATE TABLE migration.asset_inventory_runs (
    client_account_id uuid NOT NULL,
    engagement_id uuid NOT NULL,
    id uuid NOT NULL DEFAULT gen_random_uuid(),
    discovery_flow_id uuid NOT NULL,
    mode text NOT NULL CHECK (mode IN ('derived', 'supplied')),
    started_at timestamptz NOT NULL,
    finished_at timestamptz NOT NULL,
    records_handled integer NOT NULL,
    created integer NOT NULL,
    matched integer NOT NULL,
    conflicts integer NOT NULL,
    invalid integer NOT NULL,
    already_linked integer NOT NULL,
    PRIMARY KEY (client_account_id, id),
    CONSTRAINT asset_inventory_runs_engagement_fkey
    FOREIGN KEY (client_account_id, engagement_id)
    REFERENCES migration.engagements (client_account_id, id),
    CONSTRAINT asset_inventory_runs_flow_fkey
    FOREIGN KEY (client_account_id, engagement_id, discovery_flow_id)
    REFERENCES migration.discovery_flows (client_account_id, engagement_id, id)
);

CREATE INDEX asset_inventory_runs_flow_idx
ON migration.asset_inventory_runs (discovery_flow_id);

-- Ownership and privileges: discovery_owner owns everything; the backend
-- (discovery_app) and analysts (discovery_analyst) get nothing here.
ALTER SCHEMA migration OWNER TO discovery_owner;
ALTER SCHEMA discovery_health OWNER TO discovery_owner;
ALTER TABLE migration.client_accounts OWNER TO discovery_owner;
ALTER TABLE migration.engagements OWNER TO discovery_owner;
ALTER TABLE migration.crewai_flow_state_extensions OWNER TO discovery_owner;
ALTER TABLE migration.data_imports OWNER TO discovery_owner;
ALTER TABLE migration.raw_import_records OWNER TO discovery_owner;
ALTER TABLE migration.import_field_mappings OWNER TO discovery_owner;
ALTER TABLE migration.discovery_flows OWNER TO discovery_owner;
ALTER TABLE migration.assets OWNER TO discovery_owner;
ALTER TABLE migration.asset_conflict_resolutions OWNER TO discovery_owner;
ALTER TABLE migration.asset_inventory_runs OWNER TO discovery_owner;
REVOKE ALL ON SCHEMA migration FROM public;
REVOKE ALL ON SCHEMA discovery_health FROM public;
GRANT USAGE ON SCHEMA discovery_health TO discovery_analyst;
