-- schemas
schema discovery owner discovery_owner acl discovery_app=U/discovery_owner discovery_owner=UC/discovery_owner
schema migration owner discovery_owner acl discovery_owner=UC/discovery_owner

-- tables
table migration.asset_changes (client_account_id uuid not null, engagement_id uuid not null, id uuid not null default migration.uuid_v7(), asset_id uuid not null, field text not null, old_value jsonb, new_value jsonb, run_id uuid, conflict_id uuid, raw_import_record_id uuid, changed_at timestamp with time zone not null default now(), reverted_at timestamp with time zone) owner discovery_owner kind r acl 
table migration.asset_conflict_resolutions (client_account_id uuid not null, engagement_id uuid not null, id uuid not null default gen_random_uuid(), discovery_flow_id uuid not null, raw_import_record_id uuid not null, existing_asset_id uuid not null, candidate_asset_ids uuid[] not null default '{}'::uuid[], conflict_type text not null, conflict_key text, new_asset_data jsonb not null default '{}'::jsonb, resolution_status text not null default 'pending'::text, resolution_action text, resolved_asset_id uuid, resolved_at timestamp with time zone, created_at timestamp with time zone not null default now(), resolution_note text) owner discovery_owner kind r acl 
table migration.asset_counts (client_account_id uuid not null, engagement_id uuid not null, discovery_flow_id uuid not null, asset_type_key text not null, status_key text not null, live bigint not null) owner discovery_owner kind r acl 
table migration.asset_inventory_runs (client_account_id uuid not null, engagement_id uuid not null, id uuid not null default gen_random_uuid(), discovery_flow_id uuid not null, mode text not null, started_at timestamp with time zone not null, finished_at timestamp with time zone not null, records_handled integer not null, created integer not null, matched integer not null, conflicts integer not null, invalid integer not null, already_linked integer not null, updated integer not null default 0, on_match text) owner discovery_owner kind r acl 
table migration.assets (client_account_id uuid not null, engagement_id uuid not null, id uuid not null default migration.uuid_v7(), name text, asset_name text, asset_type text, hostname text, fqdn text, ip_address text, mac_address text, operating_system text, os_version text, cpu_cores integer, memory_gb numeric, storage_gb numeric, environment text, location text, datacenter text, application_name text, business_owner text, technical_owner text, department text, criticality text, custom_attributes jsonb not null default '{}'::jsonb, discovery_flow_id uuid, master_flow_id uuid, flow_id uuid, raw_import_records_id uuid, field_mappings_used jsonb, discovery_method text, discovery_source text, status text not null default 'active'::text, created_at timestamp with time zone not null default now(), updated_at timestamp with time zone not null default now(), deleted_at timestamp with time zone, external_ids jsonb not null default '{}'::jsonb) owner discovery_owner kind r acl 
table migration.assets_wired_in_transaction (client_account_id uuid not null, transaction_id xid8 not null, asset_id uuid not null) owner discovery_owner kind r acl 
table migration.client_accounts (id uuid not null, name text not null, created_at timestamp with time zone not null default now()) owner discovery_owner kind r acl 
table migration.crewai_flow_state_extensions (client_account_id uuid not null, engagement_id uuid not null, id uuid not null default gen_random_uuid(), flow_id uuid not null, flow_type text not null, flow_name text, flow_status text not null default 'active'::text, flow_persistence_data jsonb not null default '{}'::jsonb, user_id text, created_at timestamp with time zone not null default now(), updated_at timestamp with time zone not null default now()) owner discovery_owner kind r acl 
table migration.data_imports (client_account_id uuid not null, engagement_id uuid not null, id uuid not null default gen_random_uuid(), master_flow_id uuid, import_name text not null, import_type text not null, filename text, source_system text, status text not null default 'pending'::text, total_records integer not null default 0, processed_records integer not null default 0, failed_records integer not null default 0, imported_by uuid, created_at timestamp with time zone not null default now(), updated_at timestamp with time zone not null default now(), profile text, field_defaults jsonb not null default '{}'::jsonb) owner discovery_owner kind r acl 
table migration.discovery_flows (client_account_id uuid not null, engagement_id uuid not null, id uuid not null default gen_random_uuid(), flow_id uuid not null, master_flow_id uuid not null, data_import_id uuid, flow_name text, user_id text, status text not null default 'active'::text, current_phase text not null default 'data_import'::text, data_import_completed boolean not null default false, field_mapping_completed boolean not null default false, data_cleansing_completed boolean not null default false, asset_inventory_completed boolean not null default false, phase_state jsonb not null default '{}'::jsonb, created_at timestamp with time zone not null default now(), updated_at timestamp with time zone not null default now(), inventory_watermark integer) owner discovery_owner kind r acl 
table migration.engagements (client_account_id uuid not null, id uuid not null, name text not null, created_at timestamp with time zone not null default now()) owner discovery_owner kind r acl 
table migration.import_field_mappings (client_account_id uuid not null, engagement_id uuid not null, id uuid not null default gen_random_uuid(), data_import_id uuid not null, source_field text not null, target_field text not null, status text not null default 'suggested'::text, confidence_score numeric(4,3), created_at timestamp with time zone not null default now(), updated_at timestamp with time zone not null default now(), unit text, priority smallint not null default 1, value_key text) owner discovery_owner kind r acl 
table migration.raw_import_records (client_account_id uuid not null, engagement_id uuid not null, id uuid not null default migration.uuid_v7(), data_import_id uuid not null, master_flow_id uuid, row_number integer not null, raw_data jsonb not null, cleansed_data jsonb, validation_errors jsonb, is_valid boolean, is_processed boolean not null default false, processed_at timestamp with time zone, processing_status text, processing_notes text, asset_id uuid, created_at timestamp with time zone not null default now()) owner discovery_owner kind r acl 
table migration.record_counts (client_account_id uuid not null, engagement_id uuid not null, data_import_id uuid not null, outcome text not null, with_warnings boolean not null, records bigint not null) owner discovery_owner kind r acl 
table migration.tenants_unverified (client_account_id uuid not null, engagement_id uuid not null, since timestamp with time zone not null default now()) owner discovery_owner kind r acl 
table migration.wiring_checks_pending (client_account_id uuid not null, transaction_id xid8 not null, live_notes bigint default 0) owner discovery_owner kind r acl 

-- constraints
constraint migration.asset_changes.asset_changes_asset_fkey FOREIGN KEY (client_account_id, engagement_id, asset_id) REFERENCES migration.assets(client_account_id, engagement_id, id) ON DELETE CASCADE
constraint migration.asset_changes.asset_changes_conflict_fkey FOREIGN KEY (client_account_id, engagement_id, conflict_id) REFERENCES migration.asset_conflict_resolutions(client_account_id, engagement_id, id)
constraint migration.asset_changes.asset_changes_engagement_fkey FOREIGN KEY (client_account_id, engagement_id) REFERENCES migration.engagements(client_account_id, id)
constraint migration.asset_changes.asset_changes_pkey PRIMARY KEY (client_account_id, id)
constraint migration.asset_changes.asset_changes_raw_record_fkey FOREIGN KEY (client_account_id, engagement_id, raw_import_record_id) REFERENCES migration.raw_import_records(client_account_id, engagement_id, id)
constraint migration.asset_changes.asset_changes_run_fkey FOREIGN KEY (client_account_id, engagement_id, run_id) REFERENCES migration.asset_inventory_runs(client_account_id, engagement_id, id)
constraint migration.asset_conflict_resolutions.asset_conflict_resolutions_engagement_fkey FOREIGN KEY (client_account_id, engagement_id) REFERENCES migration.engagements(client_account_id, id)
constraint migration.asset_conflict_resolutions.asset_conflict_resolutions_existing_asset_fkey FOREIGN KEY (client_account_id, engagement_id, existing_asset_id) REFERENCES migration.assets(client_account_id, engagement_id, id)
constraint migration.asset_conflict_resolutions.asset_conflict_resolutions_flow_fkey FOREIGN KEY (client_account_id, engagement_id, discovery_flow_id) REFERENCES migration.discovery_flows(client_account_id, engagement_id, id)
constraint migration.asset_conflict_resolutions.asset_conflict_resolutions_pkey PRIMARY KEY (client_account_id, id)
constraint migration.asset_conflict_resolutions.asset_conflict_resolutions_raw_record_fkey FOREIGN KEY (client_account_id, engagement_id, raw_import_record_id) REFERENCES migration.raw_import_records(client_account_id, engagement_id, id)
constraint migration.asset_conflict_resolutions.asset_conflict_resolutions_resolution_action_check CHECK ((resolution_action = ANY (ARRAY['keep_existing'::text, 'replace_with_new'::text, 'merge'::text, 'create_new'::text])))
constraint migration.asset_conflict_resolutions.asset_conflict_resolutions_resolution_status_check CHECK ((resolution_status = ANY (ARRAY['pending'::text, 'resolved'::text])))
constraint migration.asset_conflict_resolutions.asset_conflict_resolutions_resolved_asset_fkey FOREIGN KEY (client_account_id, engagement_id, resolved_asset_id) REFERENCES migration.assets(client_account_id, engagement_id, id)
constraint migration.asset_conflict_resolutions.asset_conflict_resolutions_tenant_key UNIQUE (id, client_account_id, engagement_id)
constraint migration.asset_counts.asset_counts_pkey PRIMARY KEY (client_account_id, engagement_id, discovery_flow_id, asset_type_key, status_key)
constraint migration.asset_inventory_runs.asset_inventory_runs_engagement_fkey FOREIGN KEY (client_account_id, engagement_id) REFERENCES migration.engagements(client_account_id, id)
constraint migration.asset_inventory_runs.asset_inventory_runs_flow_fkey FOREIGN KEY (client_account_id, engagement_id, discovery_flow_id) REFERENCES migration.discovery_flows(client_account_id, engagement_id, id)
constraint migration.asset_inventory_runs.asset_inventory_runs_mode_check CHECK ((mode = ANY (ARRAY['derived'::text, 'supplied'::text])))
constraint migration.asset_inventory_runs.asset_inventory_runs_on_match_check CHECK ((on_match = ANY (ARRAY['refresh'::text, 'fill_empty'::text, 'keep'::text])))
constraint migration.asset_inventory_runs.asset_inventory_runs_pkey PRIMARY KEY (client_account_id, id)
constraint migration.asset_inventory_runs.asset_inventory_runs_tenant_key UNIQUE (id, client_account_id, engagement_id)
constraint migration.assets.assets_discovery_flow_fkey FOREIGN KEY (client_account_id, engagement_id, discovery_flow_id) REFERENCES migration.discovery_flows(client_account_id, engagement_id, id) NOT VALID (not valid)
constraint migration.assets.assets_engagement_fkey FOREIGN KEY (client_account_id, engagement_id) REFERENCES migration.engagements(client_account_id, id)
constraint migration.assets.assets_flow_agreement_fkey FOREIGN KEY (client_account_id, engagement_id, discovery_flow_id, master_flow_id) REFERENCES migration.discovery_flows(client_account_id, engagement_id, id, master_flow_id) NOT VALID (not valid)
constraint migration.assets.assets_master_flow_fkey FOREIGN KEY (client_account_id, engagement_id, master_flow_id) REFERENCES migration.crewai_flow_state_extensions(client_account_id, engagement_id, flow_id) NOT VALID (not valid)
constraint migration.assets.assets_pkey PRIMARY KEY (client_account_id, id)
constraint migration.assets.assets_raw_import_record_fkey FOREIGN KEY (client_account_id, engagement_id, raw_import_records_id) REFERENCES migration.raw_import_records(client_account_id, engagement_id, id) NOT VALID (not valid)
constraint migration.assets.assets_tenant_key UNIQUE (id, client_account_id, engagement_id)
constraint migration.assets_wired_in_transaction.assets_wired_in_transaction_pkey PRIMARY KEY (client_account_id, transaction_id, asset_id)
constraint migration.client_accounts.client_accounts_pkey PRIMARY KEY (id)
constraint migration.crewai_flow_state_extensions.crewai_flow_state_extensions_engagement_fkey FOREIGN KEY (client_account_id, engagement_id) REFERENCES migration.engagements(client_account_id, id)
constraint migration.crewai_flow_state_extensions.crewai_flow_state_extensions_flow_id_key UNIQUE (flow_id, client_account_id)
constraint migration.crewai_flow_state_extensions.crewai_flow_state_extensions_pkey PRIMARY KEY (client_account_id, id)
constraint migration.crewai_flow_state_extensions.crewai_flow_state_extensions_tenant_flow_key UNIQUE (flow_id, client_account_id, engagement_id)
constraint migration.data_imports.data_imports_engagement_fkey FOREIGN KEY (client_account_id, engagement_id) REFERENCES migration.engagements(client_account_id, id)
constraint migration.data_imports.data_imports_master_flow_fkey FOREIGN KEY (client_account_id, engagement_id, master_flow_id) REFERENCES migration.crewai_flow_state_extensions(client_account_id, engagement_id, flow_id)
constraint migration.data_imports.data_imports_pkey PRIMARY KEY (client_account_id, id)
constraint migration.data_imports.data_imports_status_check CHECK ((status = ANY (ARRAY['pending'::text, 'importing'::text, 'imported'::text, 'processing'::text, 'completed'::text, 'failed'::text, 'undone'::text])))
constraint migration.data_imports.data_imports_tenant_key UNIQUE (id, client_account_id, engagement_id)
constraint migration.discovery_flows.discovery_flows_data_import_fkey FOREIGN KEY (client_account_id, engagement_id, data_import_id) REFERENCES migration.data_imports(client_account_id, engagement_id, id)
constraint migration.discovery_flows.discovery_flows_engagement_fkey FOREIGN KEY (client_account_id, engagement_id) REFERENCES migration.engagements(client_account_id, id)
constraint migration.discovery_flows.discovery_flows_flow_id_fkey FOREIGN KEY (client_account_id, engagement_id, flow_id) REFERENCES migration.crewai_flow_state_extensions(client_account_id, engagement_id, flow_id)
constraint migration.discovery_flows.discovery_flows_flow_id_key UNIQUE (flow_id, client_account_id)
constraint migration.discovery_flows.discovery_flows_master_flow_fkey FOREIGN KEY (client_account_id, engagement_id, master_flow_id) REFERENCES migration.crewai_flow_state_extensions(client_account_id, engagement_id, flow_id)
constraint migration.discovery_flows.discovery_flows_master_key UNIQUE (id, master_flow_id, client_account_id, engagement_id)
constraint migration.discovery_flows.discovery_flows_pkey PRIMARY KEY (client_account_id, id)
constraint migration.discovery_flows.discovery_flows_tenant_key UNIQUE (id, client_account_id, engagement_id)
constraint migration.engagements.engagements_client_account_id_fkey FOREIGN KEY (client_account_id) REFERENCES migration.client_accounts(id)
constraint migration.engagements.engagements_pkey PRIMARY KEY (client_account_id, id)
constraint migration.import_field_mappings.import_field_mappings_data_import_fkey FOREIGN KEY (client_account_id, engagement_id, data_import_id) REFERENCES migration.data_imports(client_account_id, engagement_id, id)
constraint migration.import_field_mappings.import_field_mappings_engagement_fkey FOREIGN KEY (client_account_id, engagement_id) REFERENCES migration.engagements(client_account_id, id)
constraint migration.import_field_mappings.import_field_mappings_pkey PRIMARY KEY (client_account_id, id)
constraint migration.import_field_mappings.import_field_mappings_priority_check CHECK (((priority >= 1) AND (priority <= 100)))
constraint migration.import_field_mappings.import_field_mappings_status_check CHECK ((status = ANY (ARRAY['suggested'::text, 'approved'::text, 'rejected'::text])))
constraint migration.import_field_mappings.import_field_mappings_unit_check CHECK ((unit = ANY (ARRAY['B'::text, 'KB'::text, 'KiB'::text, 'MB'::text, 'MiB'::text, 'GB'::text, 'GiB'::text, 'TB'::text, 'TiB'::text])))
constraint migration.raw_import_records.raw_import_records_asset_fkey FOREIGN KEY (client_account_id, engagement_id, asset_id) REFERENCES migration.assets(client_account_id, engagement_id, id) NOT VALID (not valid)
constraint migration.raw_import_records.raw_import_records_data_import_fkey FOREIGN KEY (client_account_id, engagement_id, data_import_id) REFERENCES migration.data_imports(client_account_id, engagement_id, id)
constraint migration.raw_import_records.raw_import_records_master_flow_fkey FOREIGN KEY (client_account_id, engagement_id, master_flow_id) REFERENCES migration.crewai_flow_state_extensions(client_account_id, engagement_id, flow_id)
constraint migration.raw_import_records.raw_import_records_pkey PRIMARY KEY (client_account_id, id)
constraint migration.raw_import_records.raw_import_records_processing_status_check CHECK ((processing_status = ANY (ARRAY['created'::text, 'matched'::text, 'conflict'::text, 'invalid'::text, 'discarded'::text])))
constraint migration.raw_import_records.raw_import_records_row_number_key UNIQUE (data_import_id, row_number, client_account_id)
constraint migration.raw_import_records.raw_import_records_tenant_key UNIQUE (id, client_account_id, engagement_id)
constraint migration.record_counts.record_counts_pkey PRIMARY KEY (client_account_id, engagement_id, data_import_id, outcome, with_warnings)
constraint migration.tenants_unverified.tenants_unverified_pkey PRIMARY KEY (client_account_id, engagement_id)
constraint migration.wiring_checks_pending.assets_flow_based_wired TRIGGER DEFERRABLE INITIALLY DEFERRED
constraint migration.wiring_checks_pending.wiring_checks_pending_pkey PRIMARY KEY (client_account_id, transaction_id)

-- indexes
CREATE INDEX asset_changes_asset_idx ON migration.asset_changes USING btree (asset_id, changed_at DESC, id DESC);
CREATE INDEX asset_changes_conflict_idx ON migration.asset_changes USING btree (conflict_id) WHERE (conflict_id IS NOT NULL);
CREATE INDEX asset_changes_raw_record_idx ON migration.asset_changes USING btree (raw_import_record_id) WHERE (raw_import_record_id IS NOT NULL);
CREATE INDEX asset_changes_run_idx ON migration.asset_changes USING btree (run_id) WHERE (run_id IS NOT NULL);
CREATE INDEX asset_changes_tenant_idx ON migration.asset_changes USING btree (client_account_id, engagement_id, changed_at DESC, id DESC);
CREATE INDEX asset_conflict_resolutions_existing_asset_idx ON migration.asset_conflict_resolutions USING btree (existing_asset_id);
CREATE INDEX asset_conflict_resolutions_flow_idx ON migration.asset_conflict_resolutions USING btree (discovery_flow_id, resolution_status, created_at, id);
CREATE INDEX asset_conflict_resolutions_raw_record_idx ON migration.asset_conflict_resolutions USING btree (raw_import_record_id);
CREATE INDEX asset_conflict_resolutions_resolved_asset_idx ON migration.asset_conflict_resolutions USING btree (resolved_asset_id) WHERE (resolved_asset_id IS NOT NULL);
CREATE INDEX asset_conflict_resolutions_tenant_listing_idx ON migration.asset_conflict_resolutions USING btree (client_account_id, engagement_id, resolution_status, created_at, id);
CREATE INDEX asset_inventory_runs_flow_idx ON migration.asset_inventory_runs USING btree (discovery_flow_id);
CREATE INDEX assets_discovery_flow_idx ON migration.assets USING btree (discovery_flow_id, created_at, id) WHERE (discovery_flow_id IS NOT NULL);
CREATE INDEX assets_identity_external_ids_idx ON migration.assets USING gin (external_ids jsonb_path_ops) WITH (fastupdate=off) WHERE ((deleted_at IS NULL) AND (external_ids <> '{}'::jsonb));
CREATE INDEX assets_identity_fqdn_idx ON migration.assets USING btree (client_account_id, engagement_id, migration.fqdn_key(fqdn)) WHERE ((deleted_at IS NULL) AND (fqdn IS NOT NULL));
CREATE INDEX assets_identity_ip_idx ON migration.assets USING btree (client_account_id, engagement_id, migration.ip_key(ip_address)) WHERE ((deleted_at IS NULL) AND (ip_address IS NOT NULL));
CREATE INDEX assets_identity_name_idx ON migration.assets USING btree (client_account_id, engagement_id, migration.identity_text(name)) WHERE ((deleted_at IS NULL) AND (name IS NOT NULL));
CREATE INDEX assets_identity_short_name_idx ON migration.assets USING btree (client_account_id, engagement_id, migration.short_name_key(hostname, fqdn)) WHERE ((deleted_at IS NULL) AND ((hostname IS NOT NULL) OR (fqdn IS NOT NULL)));
CREATE INDEX assets_legacy_flow_idx ON migration.assets USING btree (flow_id) WHERE (flow_id IS NOT NULL);
CREATE INDEX assets_master_flow_idx ON migration.assets USING btree (master_flow_id) WHERE (master_flow_id IS NOT NULL);
CREATE INDEX assets_raw_import_record_idx ON migration.assets USING btree (raw_import_records_id) WHERE (raw_import_records_id IS NOT NULL);
CREATE INDEX assets_tenant_listing_idx ON migration.assets USING btree (client_account_id, engagement_id, created_at, id) WHERE (deleted_at IS NULL);
CREATE INDEX assets_wiring_suspects_idx ON migration.assets USING btree (client_account_id, engagement_id) WHERE ((deleted_at IS NULL) AND (((discovery_method = 'flow_based'::text) AND ((discovery_flow_id IS NULL) OR (master_flow_id IS NULL) OR (raw_import_records_id IS NULL))) OR ((discovery_flow_id IS NOT NULL) AND (master_flow_id IS NULL)) OR ((flow_id IS NOT NULL) AND (discovery_flow_id IS NULL)) OR ((raw_import_records_id IS NOT NULL) AND (discovery_method IS DISTINCT FROM 'flow_based'::text))));
CREATE INDEX data_imports_master_flow_idx ON migration.data_imports USING btree (master_flow_id) WHERE (master_flow_id IS NOT NULL);
CREATE INDEX data_imports_tenant_listing_idx ON migration.data_imports USING btree (client_account_id, engagement_id, created_at DESC, id DESC);
CREATE INDEX discovery_flows_data_import_idx ON migration.discovery_flows USING btree (data_import_id) WHERE (data_import_id IS NOT NULL);
CREATE INDEX discovery_flows_master_flow_idx ON migration.discovery_flows USING btree (master_flow_id) WHERE (master_flow_id IS NOT NULL);
CREATE INDEX raw_import_records_asset_idx ON migration.raw_import_records USING btree (asset_id) WHERE (asset_id IS NOT NULL);
CREATE INDEX raw_import_records_outcome_idx ON migration.raw_import_records USING btree (data_import_id, processing_status, row_number) WHERE (processing_status = ANY (ARRAY['conflict'::text, 'invalid'::text, 'discarded'::text]));
CREATE INDEX raw_import_records_tenant_listing_idx ON migration.raw_import_records USING btree (client_account_id, data_import_id, engagement_id, row_number);
CREATE INDEX raw_import_records_unprocessed_idx ON migration.raw_import_records USING btree (data_import_id, row_number) WHERE (NOT is_processed);
CREATE INDEX raw_import_records_wiring_suspects_idx ON migration.raw_import_records USING btree (client_account_id, engagement_id) WHERE ((asset_id IS NULL) AND is_processed AND ((processing_status IS NULL) OR (processing_status <> ALL (ARRAY['invalid'::text, 'conflict'::text, 'discarded'::text]))));
CREATE UNIQUE INDEX asset_changes_pkey ON migration.asset_changes USING btree (client_account_id, id);
CREATE UNIQUE INDEX asset_conflict_resolutions_pending_key ON migration.asset_conflict_resolutions USING btree (raw_import_record_id, client_account_id) WHERE (resolution_status = 'pending'::text);
CREATE UNIQUE INDEX asset_conflict_resolutions_pkey ON migration.asset_conflict_resolutions USING btree (client_account_id, id);
CREATE UNIQUE INDEX asset_conflict_resolutions_tenant_key ON migration.asset_conflict_resolutions USING btree (id, client_account_id, engagement_id);
CREATE UNIQUE INDEX asset_counts_pkey ON migration.asset_counts USING btree (client_account_id, engagement_id, discovery_flow_id, asset_type_key, status_key);
CREATE UNIQUE INDEX asset_inventory_runs_pkey ON migration.asset_inventory_runs USING btree (client_account_id, id);
CREATE UNIQUE INDEX asset_inventory_runs_tenant_key ON migration.asset_inventory_runs USING btree (id, client_account_id, engagement_id);
CREATE UNIQUE INDEX assets_pkey ON migration.assets USING btree (client_account_id, id);
CREATE UNIQUE INDEX assets_tenant_key ON migration.assets USING btree (id, client_account_id, engagement_id);
CREATE UNIQUE INDEX assets_wired_in_transaction_pkey ON migration.assets_wired_in_transaction USING btree (client_account_id, transaction_id, asset_id);
CREATE UNIQUE INDEX client_accounts_pkey ON migration.client_accounts USING btree (id);
CREATE UNIQUE INDEX crewai_flow_state_extensions_flow_id_key ON migration.crewai_flow_state_extensions USING btree (flow_id, client_account_id);
CREATE UNIQUE INDEX crewai_flow_state_extensions_pkey ON migration.crewai_flow_state_extensions USING btree (client_account_id, id);
CREATE UNIQUE INDEX crewai_flow_state_extensions_tenant_flow_key ON migration.crewai_flow_state_extensions USING btree (flow_id, client_account_id, engagement_id);
CREATE UNIQUE INDEX data_imports_pkey ON migration.data_imports USING btree (client_account_id, id);
CREATE UNIQUE INDEX data_imports_tenant_key ON migration.data_imports USING btree (id, client_account_id, engagement_id);
CREATE UNIQUE INDEX discovery_flows_flow_id_key ON migration.discovery_flows USING btree (flow_id, client_account_id);
CREATE UNIQUE INDEX discovery_flows_master_key ON migration.discovery_flows USING btree (id, master_flow_id, client_account_id, engagement_id);
CREATE UNIQUE INDEX discovery_flows_pkey ON migration.discovery_flows USING btree (client_account_id, id);
CREATE UNIQUE INDEX discovery_flows_tenant_key ON migration.discovery_flows USING btree (id, client_account_id, engagement_id);
CREATE UNIQUE INDEX engagements_pkey ON migration.engagements USING btree (client_account_id, id);
CREATE UNIQUE INDEX import_field_mappings_pkey ON migration.import_field_mappings USING btree (client_account_id, id);
CREATE UNIQUE INDEX import_field_mappings_source_field_key ON migration.import_field_mappings USING btree (data_import_id, md5(source_field), client_account_id);
CREATE UNIQUE INDEX raw_import_records_pkey ON migration.raw_import_records USING btree (client_account_id, id);
CREATE UNIQUE INDEX raw_import_records_row_number_key ON migration.raw_import_records USING btree (data_import_id, row_number, client_account_id);
CREATE UNIQUE INDEX raw_import_records_tenant_key ON migration.raw_import_records USING btree (id, client_account_id, engagement_id);
CREATE UNIQUE INDEX record_counts_pkey ON migration.record_counts USING btree (client_account_id, engagement_id, data_import_id, outcome, with_warnings);
CREATE UNIQUE INDEX tenants_unverified_pkey ON migration.tenants_unverified USING btree (client_account_id, engagement_id);
CREATE UNIQUE INDEX wiring_checks_pending_pkey ON migration.wiring_checks_pending USING btree (client_account_id, transaction_id);

-- triggers
CREATE CONSTRAINT TRIGGER assets_flow_based_wired AFTER INSERT ON migration.wiring_checks_pending DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION migration.check_noted_wiring() [enabled O];
CREATE TRIGGER asset_changes_replica_write AFTER INSERT OR DELETE OR UPDATE ON migration.asset_changes FOR EACH ROW WHEN ((current_setting('session_replication_role'::text) = 'replica'::text)) EXECUTE FUNCTION migration.note_replica_write() [enabled A];
CREATE TRIGGER asset_conflict_resolutions_replica_write AFTER INSERT OR DELETE OR UPDATE ON migration.asset_conflict_resolutions FOR EACH ROW WHEN ((current_setting('session_replication_role'::text) = 'replica'::text)) EXECUTE FUNCTION migration.note_replica_write() [enabled A];
CREATE TRIGGER asset_inventory_runs_replica_write AFTER INSERT OR DELETE OR UPDATE ON migration.asset_inventory_runs FOR EACH ROW WHEN ((current_setting('session_replication_role'::text) = 'replica'::text)) EXECUTE FUNCTION migration.note_replica_write() [enabled A];
CREATE TRIGGER assets_counts_after_delete AFTER DELETE ON migration.assets REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION migration.asset_counts_after_write() [enabled O];
CREATE TRIGGER assets_counts_after_insert AFTER INSERT ON migration.assets REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION migration.asset_counts_after_write() [enabled O];
CREATE TRIGGER assets_counts_after_truncate AFTER TRUNCATE ON migration.assets FOR EACH STATEMENT EXECUTE FUNCTION migration.asset_counts_after_write() [enabled O];
CREATE TRIGGER assets_counts_after_update AFTER UPDATE ON migration.assets REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION migration.asset_counts_after_write() [enabled O];
CREATE TRIGGER assets_flow_based_wired_after_insert AFTER INSERT ON migration.assets REFERENCING NEW TABLE AS inserted FOR EACH STATEMENT EXECUTE FUNCTION migration.assets_check_inserted() [enabled O];
CREATE TRIGGER assets_legacy_flow_id_on_insert BEFORE INSERT ON migration.assets FOR EACH ROW WHEN ((new.flow_id IS NOT NULL)) EXECUTE FUNCTION migration.assets_reject_legacy_flow_id() [enabled O];
CREATE TRIGGER assets_legacy_flow_id_on_update BEFORE UPDATE OF flow_id ON migration.assets FOR EACH ROW WHEN (((new.flow_id IS NOT NULL) AND (new.flow_id IS DISTINCT FROM old.flow_id))) EXECUTE FUNCTION migration.assets_reject_legacy_flow_id() [enabled O];
CREATE TRIGGER assets_note_wired_before_update BEFORE UPDATE OF discovery_method, discovery_flow_id, master_flow_id, raw_import_records_id, client_account_id, engagement_id, id, deleted_at ON migration.assets FOR EACH ROW WHEN (((old.discovery_method = 'flow_based'::text) OR (new.discovery_method = 'flow_based'::text))) EXECUTE FUNCTION migration.assets_note_wired() [enabled O];
CREATE TRIGGER assets_replica_write AFTER INSERT OR DELETE OR UPDATE ON migration.assets FOR EACH ROW WHEN ((current_setting('session_replication_role'::text) = 'replica'::text)) EXECUTE FUNCTION migration.note_replica_write() [enabled A];
CREATE TRIGGER crewai_flow_state_extensions_replica_write AFTER INSERT OR DELETE OR UPDATE ON migration.crewai_flow_state_extensions FOR EACH ROW WHEN ((current_setting('session_replication_role'::text) = 'replica'::text)) EXECUTE FUNCTION migration.note_replica_write() [enabled A];
CREATE TRIGGER data_imports_replica_write AFTER INSERT OR DELETE OR UPDATE ON migration.data_imports FOR EACH ROW WHEN ((current_setting('session_replication_role'::text) = 'replica'::text)) EXECUTE FUNCTION migration.note_replica_write() [enabled A];
CREATE TRIGGER discovery_flows_replica_write AFTER INSERT OR DELETE OR UPDATE ON migration.discovery_flows FOR EACH ROW WHEN ((current_setting('session_replication_role'::text) = 'replica'::text)) EXECUTE FUNCTION migration.note_replica_write() [enabled A];
CREATE TRIGGER raw_import_records_counts_after_delete AFTER DELETE ON migration.raw_import_records REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION migration.record_counts_after_write() [enabled O];
CREATE TRIGGER raw_import_records_counts_after_insert AFTER INSERT ON migration.raw_import_records REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION migration.record_counts_after_write() [enabled O];
CREATE TRIGGER raw_import_records_counts_after_truncate AFTER TRUNCATE ON migration.raw_import_records FOR EACH STATEMENT EXECUTE FUNCTION migration.record_counts_after_write() [enabled O];
CREATE TRIGGER raw_import_records_counts_after_update AFTER UPDATE ON migration.raw_import_records REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION migration.record_counts_after_write() [enabled O];
CREATE TRIGGER raw_import_records_forget_wired_after_update AFTER UPDATE ON migration.raw_import_records REFERENCING NEW TABLE AS updated FOR EACH STATEMENT EXECUTE FUNCTION migration.raw_import_records_forget_wired() [enabled O];
CREATE TRIGGER raw_import_records_note_wired BEFORE DELETE OR UPDATE OF asset_id, id, client_account_id, engagement_id ON migration.raw_import_records FOR EACH ROW WHEN ((old.asset_id IS NOT NULL)) EXECUTE FUNCTION migration.raw_import_records_note_wired() [enabled O];
CREATE TRIGGER raw_import_records_replica_write AFTER INSERT OR DELETE OR UPDATE ON migration.raw_import_records FOR EACH ROW WHEN ((current_setting('session_replication_role'::text) = 'replica'::text)) EXECUTE FUNCTION migration.note_replica_write() [enabled A];

-- types
type discovery.cleansed (fields jsonb, problems jsonb)

-- functions
CREATE OR REPLACE FUNCTION discovery._apply_changes_sql(p_client_account_id text, p_engagement_id text, p_now text, p_run_id text, p_conflict_id text)
 RETURNS text
 LANGUAGE sql
 IMMUTABLE PARALLEL SAFE
AS $function$
    SELECT format($cte$
        patches AS MATERIALIZED (
            SELECT c.asset_id, %1$s::uuid AS dw_client_account_id,
                   coalesce(jsonb_object_agg(c.field, c.new_value) FILTER (WHERE strpos(c.field, '.') = 0), '{}')
                       AS columns,
                   coalesce(jsonb_object_agg(substr(c.field, 19), c.new_value)
                                FILTER (WHERE c.field LIKE 'custom\_attributes.%%'), '{}') AS custom,
                   coalesce(jsonb_object_agg(substr(c.field, 14), c.new_value)
                                FILTER (WHERE c.field LIKE 'external\_ids.%%'), '{}') AS external
              FROM changes AS c
             GROUP BY c.asset_id
        ),
        refreshed AS (
            UPDATE migration.assets AS a
               SET %6$s,
                   custom_attributes = jsonb_strip_nulls(a.custom_attributes || x.custom),
                   external_ids = jsonb_strip_nulls(a.external_ids || x.external),
                   updated_at = %3$s
              FROM (SELECT p.asset_id, p.dw_client_account_id, p.custom, p.external,
                           jsonb_populate_record(b, p.columns) AS n
                      FROM patches AS p
                      JOIN migration.assets AS b
                        ON b.client_account_id = p.dw_client_account_id
                       AND b.id = p.asset_id
                       AND b.client_account_id OPERATOR(migration.===) %1$s
                    OFFSET 0) AS x
             WHERE a.client_account_id = x.dw_client_account_id
               AND a.id = x.asset_id
               AND a.client_account_id OPERATOR(migration.===) %1$s
            RETURNING 1
        ),
        logged AS (
            INSERT INTO migration.asset_changes (
                client_account_id, engagement_id, asset_id, field, old_value, new_value, run_id, conflict_id,
                raw_import_record_id, changed_at
            )
            SELECT %1$s, %2$s, c.asset_id, c.field, c.old_value, c.new_value, %4$s, %5$s, c.raw_import_record_id, %3$s
              FROM changes AS c
            RETURNING 1
        )
    $cte$, p_client_account_id, p_engagement_id, p_now, p_run_id, p_conflict_id, discovery._asset_set_sql('x.n'));
$function$
-- owner discovery_owner acl discovery_owner=X/discovery_owner
CREATE OR REPLACE FUNCTION discovery._approved_mappings(p_client_account_id uuid, p_data_import_id uuid)
 RETURNS jsonb
 LANGUAGE plpgsql
 STABLE
AS $function$
DECLARE
    v_mappings jsonb;
BEGIN
    SELECT coalesce(jsonb_object_agg(m.source_field, m.target_field), '{}'::jsonb)
      INTO v_mappings
      FROM migration.import_field_mappings AS m
     WHERE m.data_import_id = p_data_import_id
       AND m.client_account_id = p_client_account_id
       AND m.status = 'approved';
    RETURN v_mappings;
END
$function$
-- owner discovery_owner acl discovery_owner=X/discovery_owner
CREATE OR REPLACE FUNCTION discovery._assert_flag(p_value boolean, p_argument text)
 RETURNS void
 LANGUAGE plpgsql
 IMMUTABLE
AS $function$
BEGIN
    IF p_value IS NULL THEN
        PERFORM discovery._raise(
            'WR006', format('%s must be true or false', p_argument), format('%s is null', p_argument),
            format('Pass %s => true or false (or leave it out for its default).', p_argument));
    END IF;
END
$function$
-- owner discovery_owner acl discovery_owner=X/discovery_owner
CREATE OR REPLACE FUNCTION discovery._assert_payload(p_payload jsonb, p_argument text)
 RETURNS integer
 LANGUAGE plpgsql
 IMMUTABLE
AS $function$
DECLARE
    v_length integer;
    v_bad integer;
BEGIN
    IF p_payload IS NULL OR jsonb_typeof(p_payload) <> 'array' THEN
        PERFORM discovery._raise(
            'WR005', format('%s must be a JSON array', p_argument),
            format('%s is %s', p_argument, coalesce(jsonb_typeof(p_payload), 'null')),
            'Pass a JSON array of objects, one per item.');
    END IF;
    v_length := jsonb_array_length(p_payload);
    IF v_length > 50000 THEN
        PERFORM discovery._raise(
            'WR005', format('%s holds more than 50,000 elements', p_argument),
            format('%s has %s elements', p_argument, v_length),
            'Split the work into several calls of at most 50,000 elements (the Python client does).');
    END IF;
    SELECT e.ordinality::integer INTO v_bad
      FROM jsonb_array_elements(p_payload) WITH ORDINALITY AS e (value, ordinality)
     WHERE jsonb_typeof(e.value) <> 'object'
     ORDER BY e.ordinality
     LIMIT 1;
    IF v_bad IS NOT NULL THEN
        PERFORM discovery._raise(
            'WR005', format('%s must hold only JSON objects', p_argument),
            format('element %s of %s is %s', v_bad, p_argument, jsonb_typeof(p_payload -> (v_bad - 1))),
            'Make every element a JSON object.');
    END IF;
    RETURN v_length;
END
$function$
-- owner discovery_owner acl discovery_owner=X/discovery_owner
CREATE OR REPLACE FUNCTION discovery._assert_supplied_assets(p_client_account_id uuid, p_engagement_id uuid, p_discovery_flow_id uuid, p_data_import_id uuid, p_assets jsonb)
 RETURNS void
 LANGUAGE plpgsql
 STABLE
AS $function$
DECLARE
    v_bad record;
BEGIN
    PERFORM discovery._assert_payload(p_assets, 'p_assets');
    SELECT e.ordinality, e.value INTO v_bad
      FROM jsonb_array_elements(p_assets) WITH ORDINALITY AS e (value, ordinality)
     WHERE jsonb_typeof(e.value -> 'raw_import_record_id') IS DISTINCT FROM 'string'
        OR NOT discovery._is_uuid(e.value ->> 'raw_import_record_id')
     ORDER BY e.ordinality
     LIMIT 1;
    IF FOUND THEN
        PERFORM discovery._raise(
            'WR005', 'asset without a valid raw_import_record_id',
            format('element %s of p_assets: %s', v_bad.ordinality, left(v_bad.value::text, 500)),
            'Each element of p_assets carries "raw_import_record_id" (a UUID) and the asset''s fields.');
    END IF;
    SELECT (e.value ->> 'raw_import_record_id')::uuid AS id INTO v_bad
      FROM jsonb_array_elements(p_assets) AS e (value)
     GROUP BY (e.value ->> 'raw_import_record_id')::uuid
    HAVING count(*) > 1
     LIMIT 1;
    IF FOUND THEN
        PERFORM discovery._raise(
            'WR005', 'a raw record appears twice in p_assets', format('raw_import_record_id=%s', v_bad.id),
            'Send one asset per raw record.');
    END IF;
    -- By primary key alone, from the element's own tenant column, the
    -- engagement and import compared after the join (see cleanse_records).
    SELECT e.value ->> 'raw_import_record_id' AS id, r.processing_status,
           r.id IS NOT NULL AND r.engagement_id = p_engagement_id AND r.data_import_id = p_data_import_id
               AS in_import
      INTO v_bad
      FROM (SELECT p_client_account_id AS tenant, x.value
              FROM jsonb_array_elements(p_assets) AS x (value)
            OFFSET 0) AS e
      LEFT JOIN migration.raw_import_records AS r
        ON r.client_account_id = e.tenant
       AND r.id = (e.value ->> 'raw_import_record_id')::uuid
       AND r.client_account_id OPERATOR(migration.===) p_client_account_id
     WHERE r.id IS NULL OR r.engagement_id <> p_engagement_id OR r.data_import_id <> p_data_import_id
        OR r.processing_status IN ('conflict', 'discarded')
     ORDER BY r.id IS NOT NULL AND r.engagement_id = p_engagement_id AND r.data_import_id = p_data_import_id
     LIMIT 1;
    IF FOUND AND NOT v_bad.in_import THEN
        PERFORM discovery._raise(
            'WR004', 'raw record is not part of this flow''s import',
            format('raw_import_record_id=%s discovery_flow_id=%s data_import_id=%s',
                   v_bad.id, p_discovery_flow_id, p_data_import_id),
            'Send only records of the import the flow was started on: discovery.list_raw_records lists them.');
    ELSIF FOUND THEN
        PERFORM discovery._raise(
            'WR008', format('the raw record is %s', CASE v_bad.processing_status
                                                      WHEN 'conflict' THEN 'waiting in a pending conflict'
                                                      ELSE 'discarded' END),
            format('raw_import_record_id=%s processing_status=%s', v_bad.id, v_bad.processing_status),
            CASE v_bad.processing_status
                WHEN 'conflict' THEN 'Resolve it with discovery.resolve_asset_conflict (discovery.list_conflicts '
                                     'lists the pending conflicts).'
                ELSE 'Its import was undone; import the file again.' END);
    END IF;
END
$function$
-- owner discovery_owner acl discovery_owner=X/discovery_owner
CREATE OR REPLACE FUNCTION discovery._assert_tenant(p_client_account_id uuid, p_engagement_id uuid)
 RETURNS void
 LANGUAGE plpgsql
 STABLE
 SET search_path TO 'pg_catalog', 'pg_temp'
AS $function$
BEGIN
    IF p_client_account_id IS NULL OR p_engagement_id IS NULL OR NOT EXISTS (
        SELECT FROM migration.engagements AS e
         WHERE e.client_account_id = p_client_account_id
           AND e.id = p_engagement_id
    ) THEN
        PERFORM discovery._raise(
            'WR001', 'unknown tenant',
            format('client_account_id=%s engagement_id=%s', p_client_account_id, p_engagement_id),
            'Register the client account and engagement together with discovery.register_tenant.');
    END IF;
END
$function$
-- owner discovery_owner acl discovery_owner=X/discovery_owner
CREATE OR REPLACE FUNCTION discovery._asset_columns()
 RETURNS text[]
 LANGUAGE sql
 IMMUTABLE PARALLEL SAFE
RETURN ARRAY['name'::text, 'asset_name'::text, 'asset_type'::text, 'hostname'::text, 'fqdn'::text, 'ip_address'::text, 'mac_address'::text, 'operating_system'::text, 'os_version'::text, 'cpu_cores'::text, 'memory_gb'::text, 'storage_gb'::text, 'environment'::text, 'location'::text, 'datacenter'::text, 'application_name'::text, 'business_owner'::text, 'technical_owner'::text, 'department'::text, 'criticality'::text, 'status'::text, 'discovery_source'::text]
-- owner discovery_owner acl discovery_owner=X/discovery_owner
CREATE OR REPLACE FUNCTION discovery._asset_set_sql(p_row text)
 RETURNS text
 LANGUAGE sql
 IMMUTABLE PARALLEL SAFE
AS $function$
    SELECT string_agg(format('%1$I = (%2$s).%1$I', c.column_name, p_row), ', ' ORDER BY c.ordinality)
      FROM unnest(discovery._asset_columns()) WITH ORDINALITY AS c (column_name, ordinality);
$function$
-- owner discovery_owner acl discovery_owner=X/discovery_owner
CREATE OR REPLACE FUNCTION discovery._asset_values_sql(p_fields text, p_fixed jsonb, p_from text)
 RETURNS text
 LANGUAGE plpgsql
 STABLE
AS $function$
DECLARE
    v_columns text;
    v_values text;
BEGIN
    SELECT string_agg(format('%I', c.column_name), ', ' ORDER BY c.position),
           string_agg(c.expression, ', ' ORDER BY c.position)
      INTO v_columns, v_values
      FROM (
        SELECT a.attnum AS position, a.attname AS column_name,
               CASE
                   WHEN p_fixed ? a.attname THEN p_fixed ->> a.attname
                   WHEN a.attname = 'name'
                       THEN format('coalesce(%1$s ->> ''name'', %1$s ->> ''asset_name'', %1$s ->> ''hostname'', '
                                   '%1$s ->> ''fqdn'', %1$s ->> ''ip_address'')', p_fields)
                   WHEN a.attname = 'status' THEN format('coalesce(%s ->> ''status'', ''active'')', p_fields)
                   WHEN a.attname = 'custom_attributes'
                       THEN format('%s - %L::text[] - ''external_ids''', p_fields, discovery._asset_columns())
                   WHEN a.attname = 'external_ids'
                       THEN format('CASE WHEN jsonb_typeof(%1$s -> ''external_ids'') = ''object'' '
                                   'THEN %1$s -> ''external_ids'' ELSE ''{}''::jsonb END', p_fields)
                   WHEN a.atttypid = 'integer'::regtype
                       THEN format('CASE WHEN (%1$s ->> %2$L) ~ ''^[0-9]{1,9}$'' THEN (%1$s ->> %2$L)::integer END',
                                   p_fields, a.attname)
                   WHEN a.atttypid = 'numeric'::regtype
                       THEN format('CASE WHEN jsonb_typeof(%1$s -> %2$L) = ''number'' '
                                   'THEN (%1$s ->> %2$L)::numeric END', p_fields, a.attname)
                   ELSE format('%s ->> %L', p_fields, a.attname)
               END AS expression
          FROM pg_catalog.pg_attribute AS a
         WHERE a.attrelid = 'migration.assets'::regclass
           AND a.attnum > 0
           AND NOT a.attisdropped
           AND (a.attname = ANY (discovery._asset_columns() || ARRAY['custom_attributes', 'external_ids'])
                OR p_fixed ? a.attname)
      ) AS c;
    RETURN format('(%s) SELECT %s FROM %s', v_columns, v_values, p_from);
END
$function$
-- owner discovery_owner acl discovery_owner=X/discovery_owner
CREATE OR REPLACE FUNCTION discovery._cleansing_sql(p_rules jsonb, p_keys text[], p_defaults jsonb, p_input text)
 RETURNS text
 LANGUAGE plpgsql
 IMMUTABLE
AS $function$
DECLARE
    v_raw text;
    v_texts text;
    v_flags text;
    v_values text;
    v_fields text;
    v_spares text;
    v_external text;
    v_problems text;
    v_wide text;
    v_external_key text;
    v_object text;
BEGIN
    WITH source AS (
        -- one row per key of the batch, and per default, with its target
        SELECT k.key, k.ordinality AS n, r.rule IS NOT NULL AS mapped,
               coalesce((r.rule ->> 'priority')::integer, 1) AS priority,
               r.rule ->> 'unit' AS unit, r.rule ->> 'value_key' AS value_key,
               CASE
                   WHEN r.rule IS NOT NULL THEN discovery._field_name(r.rule ->> 'target')
                   WHEN x.norm = '' THEN 'unnamed_column'
                   ELSE discovery._field_name(k.key)
               END AS target,
               NULL::jsonb AS constant
          FROM unnest(p_keys) WITH ORDINALITY AS k (key, ordinality)
         CROSS JOIN LATERAL (SELECT lower(discovery._trim(k.key)) AS norm) AS x
         CROSS JOIN LATERAL (SELECT p_rules -> x.norm AS rule) AS r
         WHERE x.norm <> 'external_ids'
        UNION ALL
        SELECT NULL, 100000 + d.ordinality, FALSE, 1000, NULL, NULL, discovery._field_name(d.key), d.value
          FROM jsonb_each(CASE WHEN jsonb_typeof(p_defaults) = 'object' THEN p_defaults ELSE '{}' END)
               WITH ORDINALITY AS d (key, value, ordinality)
    ),
    typed AS (
        SELECT s.*,
               CASE
                   WHEN s.target = 'ip_address' THEN 'ip'
                   WHEN s.target = 'cpu_cores' THEN 'cores'
                   WHEN s.target IN ('memory_gb', 'storage_gb') THEN 'gb'
                   WHEN s.target = ANY (discovery._identity_columns()) OR s.target = 'asset_type' THEN 'identity'
                   WHEN s.target = ANY (discovery._asset_columns()) THEN 'text'
                   WHEN s.target LIKE 'external\_ids._%' THEN 'external_id'
                   ELSE 'custom'
               END AS kind,
               row_number() OVER (PARTITION BY s.target ORDER BY s.priority, s.mapped DESC, s.key) AS rank,
               min(s.priority) OVER (PARTITION BY s.target) AS best_priority,
               count(*) OVER (PARTITION BY s.target) AS sharing
          FROM source AS s
    ),
    placed AS (
        -- a plain custom attribute (unmapped, the only source of its name)
        -- past the first 250 goes through the wide path (see "wide" below)
        SELECT y.*,
               y.kind = 'custom' AND y.constant IS NULL AND NOT y.mapped AND y.sharing = 1
                   AND y.target <> 'unnamed_column' AND row_number() OVER (
                       PARTITION BY y.kind = 'custom' AND y.constant IS NULL AND NOT y.mapped AND y.sharing = 1
                                    AND y.target <> 'unnamed_column'
                       ORDER BY y.n) > 250 AS wide
          FROM typed AS y
    ),
    sources AS (
        SELECT y.*,
               format('dw_r%s', y.n) AS r, format('dw_t%s', y.n) AS t, format('dw_p%s', y.n) AS p,
               format('dw_v%s', y.n) AS v,
               -- the value as the field stores it (jsonb), null when empty or unusable
               CASE
                   WHEN y.constant IS NOT NULL THEN quote_literal(y.constant) || '::jsonb'
                   WHEN y.kind = 'custom' THEN format(
                       'CASE WHEN (left(f.dw_r%1$s, 1) IN (''{'', ''['', ''t'', ''f'', ''-'') OR f.dw_r%1$s ~ ''^[0-9]'') '
                       'AND jsonb_typeof(f.data -> %2$L) IN (''object'', ''array'', ''number'', ''boolean'') '
                       'THEN f.data -> %2$L WHEN f.dw_p%1$s THEN NULL ELSE to_jsonb(f.dw_t%1$s) END', y.n, y.key)
                   WHEN y.kind = 'ip' THEN format('nullif(f.dw_v%s -> ''primary'', ''null''::jsonb)', y.n)
                   ELSE format('f.dw_v%s', y.n)
               END AS value_sql,
               CASE y.kind
                   WHEN 'cores' THEN 'not a whole number from 0 to 100000'
                   WHEN 'gb' THEN 'not an amount from 0 to 1e9 GB'
                   WHEN 'identity' THEN 'longer than 255 characters'
                   WHEN 'external_id' THEN 'longer than 255 characters'
                   ELSE 'longer than 10000 characters'
               END AS failure
          FROM placed AS y
         WHERE NOT y.wide
    ),
    converted AS (
        -- layer d: each non-custom key's value, from its text (c.dw_t) and placeholder flag (c.dw_p)
        -- (an address with no colon is IPv4 and its own key: migration.ip_key, which checks it again,
        -- only for IPv6, which may be IPv4-mapped)
        SELECT s.n, format(CASE s.kind
                   WHEN 'external_id' THEN
                       'CASE WHEN NOT c.%2$s AND length(c.%1$s) <= 255 THEN to_jsonb(migration.identity_text(c.%1$s)) END'
                   WHEN 'ip' THEN
                       'CASE WHEN c.%1$s IS NULL OR c.%2$s THEN NULL WHEN migration.is_ip_address(c.%1$s) '
                       'THEN jsonb_build_object(''primary'', host(CASE WHEN strpos(c.%1$s, '':'') = 0 THEN c.%1$s::inet '
                       'ELSE migration.ip_key(c.%1$s) END), ''addresses'', '
                       '''[]''::jsonb, ''bad'', ''[]''::jsonb) ELSE discovery._ip_addresses(c.data -> %3$L, %4$L) END'
                   WHEN 'cores' THEN
                       'CASE WHEN NOT c.%2$s AND c.%1$s ~ ''^[0-9]{1,6}(\.0*)?$'' AND c.%1$s::numeric <= 100000 '
                       'THEN to_jsonb(c.%1$s::numeric::integer) END'
                   WHEN 'gb' THEN
                       'CASE WHEN c.%2$s THEN NULL WHEN c.%1$s ~ ''^[0-9]{1,12}(\.[0-9]+)?$'' '
                       'AND c.%1$s::numeric * %5$s <= 1e9 THEN to_jsonb(trim_scale(round(c.%1$s::numeric * %5$s, 3))) '
                       'WHEN discovery._to_gb(c.%1$s, %6$L) <= 1e9 THEN to_jsonb(discovery._to_gb(c.%1$s, %6$L)) END'
                   ELSE
                       'CASE WHEN NOT c.%2$s AND length(c.%1$s) <= %7$s THEN to_jsonb(c.%1$s) END'
               END,
               s.t, s.p, s.key, s.value_key,
               CASE upper(coalesce(s.unit, 'GB'))
                   WHEN 'B' THEN '(1.0 / 1073741824)' WHEN 'KB' THEN '(1.0 / 1048576)' WHEN 'KIB' THEN '(1.0 / 1048576)'
                   WHEN 'MB' THEN '(1.0 / 1024)' WHEN 'MIB' THEN '(1.0 / 1024)'
                   WHEN 'TB' THEN '1024' WHEN 'TIB' THEN '1024' ELSE '1' END,
               s.unit,
               CASE s.kind WHEN 'identity' THEN 255 ELSE 10000 END) || ' AS ' || s.v AS expr
          FROM sources AS s
         WHERE s.constant IS NULL AND s.kind <> 'custom'
    ),
    spares AS (
        -- a value of a field that another source filled: kept as a custom attribute
        SELECT s.*,
               CASE WHEN lower(discovery._trim(s.key)) = ANY (discovery._asset_columns())
                         OR lower(discovery._trim(s.key)) LIKE 'external\_ids._%'
                         OR discovery._field_name(s.key) = s.target
                    THEN 'source: ' || discovery._trim(s.key)
                    ELSE discovery._trim(s.key) END AS spare_name,
               (SELECT string_agg(w.value_sql, ', ' ORDER BY w.rank)
                  FROM sources AS w
                 WHERE w.target = s.target AND w.rank < s.rank) AS earlier_sql
          FROM sources AS s
         WHERE s.rank > 1 AND s.constant IS NULL
    ),
    problem_sql AS (
        -- each problem a record can have: when it is reported (cond) and
        -- the report; a record with no cond true builds no array (below)
        SELECT s.n, format('f.%s', s.p) AS cond, format(
                   'jsonb_build_object(''field'', %1$L, ''error'', ''placeholder value, treated as empty'', '
                   '''value'', left(f.%2$s, 200), ''severity'', ''warning'', ''source'', %3$L)',
                   s.target, s.t, s.key) AS report
          FROM sources AS s
         WHERE s.constant IS NULL AND s.kind <> 'custom'
        UNION ALL
        SELECT s.n, format('f.%1$s IS NOT NULL AND NOT f.%2$s AND f.%3$s IS NULL', s.t, s.p, s.v), format(
                   'jsonb_build_object(''field'', %1$L, ''error'', %2$L, ''value'', left(f.%3$s, 200), '
                   '''severity'', ''warning'', ''source'', %4$L)', s.target, s.failure, s.t, s.key)
          FROM sources AS s
         WHERE s.constant IS NULL AND s.kind NOT IN ('custom', 'ip')
        UNION ALL
        SELECT s.n, format('jsonb_array_length(f.%s -> ''bad'') > 0', s.v), format(
                   'jsonb_build_object(''field'', %2$L, ''error'', ''not an IPv4 or IPv6 address: '' || '
                   '(SELECT string_agg(x, '', '') FROM jsonb_array_elements_text(f.%1$s -> ''bad'') AS x), '
                   '''value'', left(f.%3$s, 200), ''severity'', ''warning'', ''source'', %4$L)',
                   s.v, s.target, s.t, s.key)
          FROM sources AS s
         WHERE s.constant IS NULL AND s.kind = 'ip'
        UNION ALL
        SELECT s.n, format('%s IS NOT NULL AND coalesce(%s) IS NOT NULL', s.value_sql, s.earlier_sql), format(
                   'jsonb_build_object(''field'', %1$L, ''error'', %2$L, ''value'', left(%3$s #>> ''{}'', 200), '
                   '''severity'', ''warning'', ''source'', %4$L)',
                   s.target,
                   format('also filled by another column; this value is kept in custom_attributes.%s', s.spare_name),
                   s.value_sql, s.key)
          FROM spares AS s
         WHERE s.priority = s.best_priority
        UNION ALL
        SELECT s.n, format('%s IS NOT NULL', s.value_sql), format(
                   'jsonb_build_object(''field'', %1$L, ''error'', '
                   '''a column without a name: its value is kept in custom_attributes.unnamed_column'', '
                   '''value'', left(%2$s #>> ''{}'', 200), ''severity'', ''warning'', ''source'', %3$L)',
                   s.target, s.value_sql, s.key)
          FROM sources AS s
         WHERE s.target = 'unnamed_column' AND s.rank = 1
    ),
    field_pairs AS (
        SELECT format('%L, coalesce(%s)', t.target, string_agg(t.value_sql, ', ' ORDER BY t.rank)) AS pair
          FROM sources AS t
         WHERE t.kind <> 'external_id'
         GROUP BY t.target
        UNION ALL
        SELECT format('''ip_addresses'', coalesce(%s)',
                      string_agg(format('nullif(f.%s -> ''addresses'', ''[]''::jsonb)', t.v), ', ' ORDER BY t.rank))
          FROM sources AS t
         WHERE t.kind = 'ip' AND t.constant IS NULL
        HAVING count(*) > 0
    ),
    external_pairs AS (
        SELECT format('%L, coalesce(%s)', substr(t.target, 14), string_agg(t.value_sql, ', ' ORDER BY t.rank)) AS pair
          FROM sources AS t
         WHERE t.kind = 'external_id'
         GROUP BY t.target
    )
    SELECT
        (SELECT string_agg(format(', s.data ->> %L AS %s', s.key, s.r), '' ORDER BY s.n)
           FROM sources AS s WHERE s.constant IS NULL),
        (SELECT string_agg(format(
                    ', CASE WHEN left(a.%1$s, 1) IN (''{'', ''['') AND jsonb_typeof(a.data -> %3$L) IN '
                    '(''object'', ''array'') THEN discovery._json_text(a.data -> %3$L, %4$L) '
                    'ELSE nullif(discovery._trim(a.%1$s), '''') END AS %2$s', s.r, s.t, s.key, s.value_key),
                    '' ORDER BY s.n)
           FROM sources AS s WHERE s.constant IS NULL),
        (SELECT string_agg(format(', coalesce(discovery._is_placeholder(b.%s), false) AS %s', s.t, s.p), ''
                           ORDER BY s.n)
           FROM sources AS s WHERE s.constant IS NULL),
        (SELECT string_agg(', ' || c.expr, '' ORDER BY c.n) FROM converted AS c),
        (SELECT discovery._jsonb_object_sql(array_agg(g.pair)) FROM field_pairs AS g),
        (SELECT discovery._jsonb_object_sql(array_agg(format('%L, CASE WHEN coalesce(%s) IS NOT NULL THEN %s END',
                                                             s.spare_name, s.earlier_sql, s.value_sql)))
           FROM spares AS s),
        (SELECT discovery._jsonb_object_sql(array_agg(e.pair)) FROM external_pairs AS e),
        (SELECT format('CASE WHEN (%s) THEN to_jsonb(array_remove(ARRAY[%s]::jsonb[], NULL)) ELSE ''[]''::jsonb END',
                       string_agg(p.cond, ') OR (' ORDER BY p.n),
                       string_agg(format('CASE WHEN %s THEN %s END', p.cond, p.report), ', ' ORDER BY p.n))
           FROM problem_sql AS p
         HAVING count(*) > 0),
        (SELECT format(
                    'coalesce((SELECT jsonb_object_agg(discovery._field_name(e.key), CASE WHEN jsonb_typeof(e.value) IN '
                    '(''object'', ''array'', ''number'', ''boolean'') THEN e.value ELSE to_jsonb(x.t) END) '
                    'FROM jsonb_each(f.data) AS e CROSS JOIN LATERAL (SELECT nullif(discovery._trim(e.value #>> '
                    '''{}''), '''') AS t) AS x WHERE e.key = ANY (%L::text[]) AND (jsonb_typeof(e.value) IN '
                    '(''object'', ''array'', ''number'', ''boolean'') OR (jsonb_typeof(e.value) = ''string'' '
                    'AND x.t IS NOT NULL AND NOT coalesce(discovery._is_placeholder(x.t), FALSE)))), ''{}''::jsonb)',
                    array_agg(w.key ORDER BY w.n))
           FROM placed AS w
          WHERE w.wide
         HAVING count(*) > 0)
      INTO v_raw, v_texts, v_flags, v_values, v_fields, v_spares, v_external, v_problems, v_wide;

    -- A record's fields: the asset columns and custom attributes, the spare
    -- values, the wide attributes and the external IDs, each part only when
    -- the batch has it (a part that is always '{}' still cost a rebuild of
    -- every record's object).
    v_external_key := (SELECT k FROM unnest(p_keys) AS k WHERE lower(discovery._trim(k)) = 'external_ids' LIMIT 1);
    SELECT coalesce(string_agg(o.part, ' || ' ORDER BY o.n), '''{}''::jsonb') INTO v_object
      FROM unnest(ARRAY[
               v_fields, v_spares, coalesce(v_wide, '''{}''::jsonb'),
               CASE WHEN v_external <> '''{}''::jsonb' OR v_external_key IS NOT NULL THEN format(
                   'jsonb_build_object(''external_ids'', nullif(jsonb_strip_nulls(%s) || %s, ''{}''::jsonb))',
                   v_external, CASE WHEN v_external_key IS NULL THEN '''{}''::jsonb'
                                    ELSE format('coalesce(discovery._external_ids(f.data -> %L), ''{}''::jsonb)',
                                                v_external_key) END) END
           ]) WITH ORDINALITY AS o (part, n)
     WHERE o.part IS NOT NULL AND o.part <> '''{}''::jsonb';

    -- The pipeline: raw texts (a), trimmed texts (b), placeholder flags (c),
    -- values (d), the fields and their problems (f), the FQDN from a dotted
    -- hostname (g), and the error of a record with no identity (the result).
    RETURN format(
        'SELECT g.*, g.dw_problems || %8$s || CASE WHEN g.fields ?| ARRAY[''name'', ''asset_name'', ''hostname'', '
        '''fqdn'', ''ip_address'', ''external_ids''] THEN ''[]''::jsonb ELSE ''[{"field": "name", "error": '
        '"no name and no identity key (name, hostname, fqdn, ip_address, external ID)", "value": null, '
        '"severity": "error"}]''::jsonb END AS problems '
        'FROM (SELECT f.*, CASE WHEN f.dw_fields ? ''hostname'' AND NOT f.dw_fields ? ''fqdn'' '
        'AND strpos(f.dw_fields ->> ''hostname'', ''.'') > 0 '
        'AND NOT migration.is_ip_address(f.dw_fields ->> ''hostname'') '
        'THEN f.dw_fields || jsonb_build_object(''fqdn'', f.dw_fields ->> ''hostname'') '
        'ELSE f.dw_fields END AS fields '
        'FROM (SELECT f.*, jsonb_strip_nulls(%1$s) AS dw_fields, %2$s AS dw_problems '
        'FROM (SELECT c.*%3$s FROM (SELECT b.*%4$s FROM (SELECT a.*%5$s FROM (SELECT s.*%6$s '
        'FROM (%7$s) AS s OFFSET 0) AS a OFFSET 0) AS b OFFSET 0) AS c OFFSET 0) AS f OFFSET 0) AS f '
        'OFFSET 0) AS g',
        v_object, coalesce(v_problems, '''[]''::jsonb'),
        coalesce(v_values, ''), coalesce(v_flags, ''), coalesce(v_texts, ''), coalesce(v_raw, ''),
        p_input,
        CASE WHEN v_external_key IS NULL THEN '''[]''::jsonb'
             ELSE format('discovery._external_id_problems(g.data -> %L)', v_external_key) END);
END
$function$
-- owner discovery_owner acl discovery_owner=X/discovery_owner
CREATE OR REPLACE FUNCTION discovery._data_import(p_client_account_id uuid, p_engagement_id uuid, p_data_import_id uuid, p_lock boolean DEFAULT false)
 RETURNS migration.data_imports
 LANGUAGE plpgsql
AS $function$
DECLARE
    v_import migration.data_imports;
BEGIN
    IF p_lock THEN
        SELECT i.* INTO v_import
          FROM migration.data_imports AS i
         WHERE i.client_account_id = p_client_account_id
           AND i.engagement_id = p_engagement_id
           AND i.id = p_data_import_id
           FOR UPDATE;
    ELSE
        SELECT i.* INTO v_import
          FROM migration.data_imports AS i
         WHERE i.client_account_id = p_client_account_id
           AND i.engagement_id = p_engagement_id
           AND i.id = p_data_import_id;
    END IF;
    IF NOT FOUND THEN
        PERFORM discovery._raise(
            'WR003', 'data import not found in this tenant',
            format('data_import_id=%s client_account_id=%s engagement_id=%s',
                   p_data_import_id, p_client_account_id, p_engagement_id),
            'Create the import with discovery.create_data_import in the same tenant.');
    END IF;
    RETURN v_import;
END
$function$
-- owner discovery_owner acl discovery_owner=X/discovery_owner
CREATE OR REPLACE FUNCTION discovery._discovery_flow(p_client_account_id uuid, p_engagement_id uuid, p_discovery_flow_id uuid)
 RETURNS migration.discovery_flows
 LANGUAGE plpgsql
 STABLE
AS $function$
DECLARE
    v_flow migration.discovery_flows;
    v_hint text := 'Pass the discovery flow ID (discovery_flows.id) returned by start_discovery_flow; '
                   'discovery.resolve_flow maps any flow ID to it.';
BEGIN
    SELECT f.* INTO v_flow
      FROM migration.discovery_flows AS f
     WHERE f.client_account_id = p_client_account_id
       AND f.engagement_id = p_engagement_id
       AND f.id = p_discovery_flow_id;
    IF FOUND THEN
        RETURN v_flow;
    END IF;
    SELECT f.* INTO v_flow
      FROM migration.discovery_flows AS f
     WHERE f.client_account_id = p_client_account_id
       AND f.engagement_id = p_engagement_id
       AND f.flow_id = p_discovery_flow_id;
    IF FOUND THEN
        v_hint := format('%s is a flow_id (the master flow''s public ID), not a discovery flow ID; '
                         'its discovery flow ID is %s.', p_discovery_flow_id, v_flow.id);
    END IF;
    PERFORM discovery._raise(
        'WR002', 'discovery flow not found in this tenant',
        format('discovery_flow_id=%s client_account_id=%s engagement_id=%s',
               p_discovery_flow_id, p_client_account_id, p_engagement_id),
        v_hint);
    RETURN NULL;
END
$function$
-- owner discovery_owner acl discovery_owner=X/discovery_owner
CREATE OR REPLACE FUNCTION discovery._external_id_entries(p_value jsonb)
 RETURNS TABLE(key text, namespace text, value jsonb, text text, error text)
 LANGUAGE sql
 IMMUTABLE PARALLEL SAFE
AS $function$
    SELECT e.key, lower(discovery._trim(e.key)), e.value, t.text,
           CASE
               WHEN discovery._trim(e.key) = '' THEN 'an external ID without a namespace'
               WHEN jsonb_typeof(e.value) = 'null' THEN NULL
               WHEN t.text IS NULL THEN 'no text value'
               WHEN discovery._is_placeholder(t.text) THEN 'placeholder value, treated as empty'
               WHEN length(t.text) > 255 THEN 'longer than 255 characters'
           END
      FROM jsonb_each(CASE WHEN jsonb_typeof(p_value) = 'object' THEN p_value ELSE '{}' END) AS e
     CROSS JOIN LATERAL (SELECT discovery._json_text(e.value) AS text) AS t;
$function$
-- owner discovery_owner acl discovery_owner=X/discovery_owner
CREATE OR REPLACE FUNCTION discovery._external_id_problems(p_value jsonb)
 RETURNS jsonb
 LANGUAGE sql
 IMMUTABLE PARALLEL SAFE
AS $function$
    SELECT CASE
               WHEN p_value IS NULL OR jsonb_typeof(p_value) = 'null' THEN '[]'::jsonb
               WHEN jsonb_typeof(p_value) <> 'object' THEN jsonb_build_array(jsonb_build_object(
                   'field', 'external_ids', 'error', 'not an object of namespace: value',
                   'value', left(p_value::text, 200), 'severity', 'warning', 'source', 'external_ids'))
               ELSE (
                   SELECT coalesce(jsonb_agg(jsonb_build_object(
                              'field', 'external_ids.' || x.namespace, 'error', x.error,
                              'value', left(coalesce(x.text, x.value::text), 200), 'severity', 'warning',
                              'source', 'external_ids') ORDER BY x.key), '[]'::jsonb)
                     FROM discovery._external_id_entries(p_value) AS x
                    WHERE x.error IS NOT NULL)
           END;
$function$
-- owner discovery_owner acl discovery_owner=X/discovery_owner
CREATE OR REPLACE FUNCTION discovery._external_ids(p_value jsonb)
 RETURNS jsonb
 LANGUAGE sql
 IMMUTABLE PARALLEL SAFE
AS $function$
    SELECT jsonb_object_agg(x.namespace, migration.identity_text(x.text))
      FROM discovery._external_id_entries(p_value) AS x
     WHERE x.error IS NULL
       AND x.text IS NOT NULL;
$function$
-- owner discovery_owner acl discovery_owner=X/discovery_owner
CREATE OR REPLACE FUNCTION discovery._field_changes(p_asset jsonb, p_fields jsonb, p_on_match text)
 RETURNS TABLE(field text, old_value jsonb, new_value jsonb)
 LANGUAGE sql
 IMMUTABLE PARALLEL SAFE
AS $function$
    SELECT f.field, f.old_value, f.new_value
      FROM (SELECT p_asset AS asset OFFSET 0) AS x
     CROSS JOIN LATERAL (
        SELECT kv.key AS field, nullif(x.asset -> kv.key, 'null'::jsonb) AS old_value, kv.value AS new_value,
               kv.key = ANY (discovery._identity_columns()) AS identity
          FROM jsonb_each(p_fields) AS kv
         WHERE kv.key = ANY (discovery._asset_columns())
        UNION ALL
        SELECT 'custom_attributes.' || kv.key, x.asset -> 'custom_attributes' -> kv.key, kv.value, FALSE
          FROM jsonb_each(p_fields - discovery._asset_columns() - 'external_ids') AS kv
        UNION ALL
        SELECT 'external_ids.' || kv.key, x.asset -> 'external_ids' -> kv.key, kv.value, TRUE
          FROM jsonb_each(CASE WHEN jsonb_typeof(p_fields -> 'external_ids') = 'object'
                               THEN p_fields -> 'external_ids' ELSE '{}' END) AS kv
      ) AS f
     WHERE f.new_value IS NOT NULL
       AND f.new_value <> 'null'::jsonb
       AND f.new_value IS DISTINCT FROM f.old_value
       AND CASE
               WHEN p_on_match = 'keep' THEN FALSE
               WHEN f.identity OR p_on_match = 'fill_empty' THEN f.old_value IS NULL
               ELSE TRUE
           END;
$function$
-- owner discovery_owner acl discovery_owner=X/discovery_owner
CREATE OR REPLACE FUNCTION discovery._field_name(p_name text)
 RETURNS text
 LANGUAGE sql
 IMMUTABLE PARALLEL SAFE
AS $function$
    SELECT CASE
               WHEN n.norm = ANY (discovery._asset_columns()) THEN n.norm
               WHEN n.norm LIKE 'external\_ids._%' THEN n.norm
               ELSE discovery._trim(p_name)
           END
      FROM (SELECT lower(discovery._trim(p_name)) AS norm) AS n;
$function$
-- owner discovery_owner acl discovery_owner=X/discovery_owner
CREATE OR REPLACE FUNCTION discovery._gap_kinds()
 RETURNS text[]
 LANGUAGE sql
 IMMUTABLE PARALLEL SAFE
RETURN ARRAY['assets_missing_discovery_flow_id'::text, 'assets_with_unknown_discovery_flow_id'::text, 'assets_with_mismatched_master_flow_id'::text, 'assets_missing_raw_import_id'::text, 'assets_with_orphan_raw_ref'::text, 'links_disagree'::text, 'raw_records_missing_asset_id'::text, 'processed_records_missing_asset_id'::text, 'raw_with_orphan_asset_ref'::text, 'assets_with_legacy_flow_id_only'::text]
-- owner discovery_owner acl discovery_owner=X/discovery_owner
CREATE OR REPLACE FUNCTION discovery._identity_columns()
 RETURNS text[]
 LANGUAGE sql
 IMMUTABLE PARALLEL SAFE
RETURN ARRAY['name'::text, 'asset_name'::text, 'hostname'::text, 'fqdn'::text, 'ip_address'::text]
-- owner discovery_owner acl discovery_owner=X/discovery_owner
CREATE OR REPLACE FUNCTION discovery._insert_raw_records(p_client_account_id uuid, p_engagement_id uuid, p_data_import_id uuid, p_records jsonb[])
 RETURNS integer
 LANGUAGE plpgsql
AS $function$
DECLARE
    v_import migration.data_imports;
    v_flow_id uuid;
    v_count integer := coalesce(cardinality(p_records), 0);
    v_last integer;
BEGIN
    v_import := discovery._data_import(p_client_account_id, p_engagement_id, p_data_import_id, TRUE);
    IF v_import.status = 'undone' THEN
        PERFORM discovery._raise(
            'WR008', 'the import was undone', format('data_import_id=%s', p_data_import_id),
            'An undone import takes no more records; create a new import.');
    END IF;
    IF v_count = 0 THEN
        RETURN 0;
    END IF;

    -- the import's last row_number is its total_records (this function writes
    -- both, under the import's row lock), or that of a row added by hand above
    -- it: the last entry of an index range past the total, empty as a rule. A
    -- max() over all the import's rows, planned with statistics that put the
    -- import at one row, read every one of them for each chunk, so a file
    -- loaded in chunks took time quadratic in its length (benchmarks/README.md)
    v_last := coalesce((
        SELECT r.row_number
          FROM migration.raw_import_records AS r
         WHERE r.client_account_id = p_client_account_id
           AND r.data_import_id = p_data_import_id
           AND r.engagement_id = p_engagement_id
           AND r.row_number > v_import.total_records
         ORDER BY r.row_number DESC
         LIMIT 1), v_import.total_records);

    INSERT INTO migration.raw_import_records (
        client_account_id, engagement_id, data_import_id, master_flow_id, row_number, raw_data
    )
    SELECT p_client_account_id, p_engagement_id, p_data_import_id, v_import.master_flow_id,
           v_last + e.ordinality::integer, e.value
      FROM unnest(p_records) WITH ORDINALITY AS e (value, ordinality);

    UPDATE migration.data_imports AS i
       SET total_records = i.total_records + v_count,
           status = CASE WHEN i.status IN ('pending', 'importing') THEN 'imported' ELSE i.status END,
           updated_at = now()
     WHERE i.client_account_id = p_client_account_id
       AND i.id = p_data_import_id;

    SELECT f.id INTO v_flow_id
      FROM migration.discovery_flows AS f
     WHERE f.client_account_id = p_client_account_id
       AND f.engagement_id = p_engagement_id
       AND f.data_import_id = p_data_import_id
       AND f.inventory_watermark IS NOT NULL;
    IF FOUND THEN
        PERFORM discovery._sync_flow_state(p_client_account_id, p_engagement_id, v_flow_id);
    END IF;
    RETURN v_count;
END
$function$
-- owner discovery_owner acl discovery_owner=X/discovery_owner
CREATE OR REPLACE FUNCTION discovery._ip_addresses(p_value jsonb, p_value_key text DEFAULT NULL::text)
 RETURNS jsonb
 LANGUAGE sql
 IMMUTABLE PARALLEL SAFE
AS $function$
    WITH entries AS (
        SELECT e.ordinality AS position, discovery._json_text(e.value, p_value_key) AS entry
          FROM jsonb_array_elements(CASE WHEN jsonb_typeof(p_value) = 'array' THEN p_value
                                         ELSE jsonb_build_array(p_value) END) WITH ORDINALITY AS e (value, ordinality)
    ),
    tokens AS (
        SELECT e.position * 1000 + t.ordinality AS position, t.token
          FROM entries AS e
         CROSS JOIN LATERAL regexp_split_to_table(e.entry, '[;,|[:space:]]+') WITH ORDINALITY AS t (token, ordinality)
         WHERE t.token <> '' AND NOT discovery._is_placeholder(t.token)
    ),
    parsed AS (
        SELECT t.position, t.token,
               CASE
                   WHEN m[2] IS NULL AND migration.is_ip_address(m[1]) THEN host(migration.ip_key(m[1]))
                   WHEN migration.is_ip_address(m[1])
                        AND m[2]::integer <= CASE WHEN strpos(m[1], ':') > 0 THEN 128 ELSE 32 END
                       THEN host(migration.ip_key(m[1]))
               END AS address
          FROM tokens AS t
         CROSS JOIN LATERAL regexp_match(btrim(t.token, '[]'), '^([^/]+)(?:/([0-9]{1,3}))?$') AS m
    )
    SELECT jsonb_build_object(
        'addresses', coalesce(jsonb_agg(p.address ORDER BY p.position)
                                  FILTER (WHERE p.address IS NOT NULL AND p.first_of_address), '[]'::jsonb),
        'primary', coalesce((array_agg(p.address ORDER BY p.position) FILTER (WHERE strpos(p.address, ':') = 0))[1],
                            (array_agg(p.address ORDER BY p.position) FILTER (WHERE p.address IS NOT NULL))[1]),
        'bad', coalesce(jsonb_agg(p.token ORDER BY p.position) FILTER (WHERE p.address IS NULL), '[]'::jsonb))
      FROM (SELECT x.*, row_number() OVER (PARTITION BY x.address ORDER BY x.position) = 1 AS first_of_address
              FROM parsed AS x) AS p;
$function$
-- owner discovery_owner acl discovery_owner=X/discovery_owner
CREATE OR REPLACE FUNCTION discovery._is_placeholder(p_value text)
 RETURNS boolean
 LANGUAGE sql
 IMMUTABLE PARALLEL SAFE
RETURN ((octet_length(p_value) <= 16) AND (ascii(p_value) = ANY (ARRAY[35, 40, 45, 60, 63, 78, 84, 85, 110, 116, 117])) AND (lower(p_value) = ANY (ARRAY['n/a'::text, 'na'::text, 'n.a.'::text, 'n.a'::text, '#n/a'::text, '-'::text, '--'::text, '---'::text, '?'::text, 'unknown'::text, 'none'::text, 'null'::text, 'nil'::text, 'tbd'::text, 'tba'::text, 'not available'::text, 'not applicable'::text, '(none)'::text, '(null)'::text, '<none>'::text])))
-- owner discovery_owner acl discovery_owner=X/discovery_owner
CREATE OR REPLACE FUNCTION discovery._is_uuid(p_value text)
 RETURNS boolean
 LANGUAGE sql
 IMMUTABLE PARALLEL SAFE
RETURN ((p_value ~* '^[0-9a-f]{8}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{12}$'::text) OR (p_value ~* '^\{[0-9a-f]{8}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{12}\}$'::text))
-- owner discovery_owner acl discovery_owner=X/discovery_owner
CREATE OR REPLACE FUNCTION discovery._json_text(p_value jsonb, p_value_key text DEFAULT NULL::text)
 RETURNS text
 LANGUAGE sql
 IMMUTABLE PARALLEL SAFE
AS $function$
    SELECT nullif(discovery._trim(CASE jsonb_typeof(p_value)
        WHEN 'string' THEN p_value #>> '{}'
        WHEN 'number' THEN p_value #>> '{}'
        WHEN 'boolean' THEN p_value #>> '{}'
        WHEN 'object' THEN coalesce(p_value ->> p_value_key, p_value ->> 'display', p_value ->> 'name',
                                    p_value ->> 'label', p_value ->> 'address', p_value ->> 'model',
                                    p_value ->> 'value')
        WHEN 'array' THEN (SELECT string_agg(CASE WHEN jsonb_typeof(e.value) = 'array' THEN e.value::text
                                                  ELSE discovery._json_text(e.value, p_value_key) END,
                                             ', ' ORDER BY e.ordinality)
                             FROM jsonb_array_elements(p_value) WITH ORDINALITY AS e (value, ordinality))
    END), '');
$function$
-- owner discovery_owner acl discovery_owner=X/discovery_owner
CREATE OR REPLACE FUNCTION discovery._jsonb_object_sql(p_pairs text[])
 RETURNS text
 LANGUAGE sql
 IMMUTABLE PARALLEL SAFE
AS $function$
    SELECT coalesce(string_agg(format('jsonb_build_object(%s)', c.pairs), ' || ' ORDER BY c.chunk), '''{}''::jsonb')
      FROM (SELECT (p.ordinality - 1) / 50 AS chunk, string_agg(p.pair, ', ' ORDER BY p.ordinality) AS pairs
              FROM unnest(p_pairs) WITH ORDINALITY AS p (pair, ordinality)
             WHERE p.pair IS NOT NULL
             GROUP BY 1) AS c;
$function$
-- owner discovery_owner acl discovery_owner=X/discovery_owner
CREATE OR REPLACE FUNCTION discovery._lock_tenant_assets(p_client_account_id uuid, p_engagement_id uuid)
 RETURNS void
 LANGUAGE plpgsql
AS $function$
BEGIN
    PERFORM
       FROM migration.engagements AS e
      WHERE e.client_account_id = p_client_account_id
        AND e.id = p_engagement_id
        FOR NO KEY UPDATE;
END
$function$
-- owner discovery_owner acl discovery_owner=X/discovery_owner
CREATE OR REPLACE FUNCTION discovery._mapped_field(p_data jsonb, p_rules jsonb, p_field text)
 RETURNS text
 LANGUAGE sql
 IMMUTABLE PARALLEL SAFE
AS $function$
    SELECT discovery._json_text(kv.value)
      FROM jsonb_each(CASE WHEN jsonb_typeof(p_data) = 'object' THEN p_data ELSE '{}' END) AS kv
     WHERE coalesce(discovery._field_name(p_rules -> lower(discovery._trim(kv.key)) ->> 'target'),
                    discovery._field_name(kv.key)) = p_field
       AND discovery._json_text(kv.value) IS NOT NULL
     ORDER BY p_rules ? lower(discovery._trim(kv.key)) DESC, kv.key
     LIMIT 1;
$function$
-- owner discovery_owner acl discovery_owner=X/discovery_owner
CREATE OR REPLACE FUNCTION discovery._mapping_rules(p_client_account_id uuid, p_data_import_id uuid)
 RETURNS jsonb
 LANGUAGE plpgsql
 STABLE
AS $function$
DECLARE
    v_rules jsonb;
BEGIN
    SELECT coalesce(jsonb_object_agg(lower(discovery._trim(m.source_field)),
                                     jsonb_strip_nulls(jsonb_build_object(
                                         'target', m.target_field, 'priority', m.priority, 'unit', m.unit,
                                         'value_key', m.value_key))), '{}'::jsonb)
      INTO v_rules
      FROM migration.import_field_mappings AS m
     WHERE m.data_import_id = p_data_import_id
       AND m.client_account_id = p_client_account_id
       AND m.status = 'approved';
    RETURN v_rules;
END
$function$
-- owner discovery_owner acl discovery_owner=X/discovery_owner
CREATE OR REPLACE FUNCTION discovery._page_size(p_page integer, p_page_size integer)
 RETURNS integer
 LANGUAGE plpgsql
 IMMUTABLE
AS $function$
BEGIN
    IF p_page IS NULL OR p_page < 1 THEN
        PERFORM discovery._raise('WR006', 'page must be 1 or more', format('p_page=%s', p_page),
                                 'Pages are numbered from 1.');
    END IF;
    IF p_page_size IS NULL OR p_page_size < 1 THEN
        PERFORM discovery._raise('WR006', 'page size must be 1 or more', format('p_page_size=%s', p_page_size),
                                 'Pass a page size from 1 to 200.');
    END IF;
    RETURN least(p_page_size, 200);
END
$function$
-- owner discovery_owner acl discovery_owner=X/discovery_owner
CREATE OR REPLACE FUNCTION discovery._pagination(p_page integer, p_page_size integer, p_total bigint, p_requested_size integer)
 RETURNS jsonb
 LANGUAGE sql
 IMMUTABLE PARALLEL SAFE
RETURN jsonb_build_object('pagination', jsonb_build_object('page', p_page, 'page_size', p_page_size, 'total_count', p_total, 'total_pages', (ceil(((p_total)::numeric / (p_page_size)::numeric)))::bigint, 'has_next', (((p_page)::bigint * p_page_size) < p_total), 'has_prev', (p_page > 1)), 'metadata', jsonb_build_object('page_size_capped', (p_requested_size > 200), 'max_page_size', 200))
-- owner discovery_owner acl discovery_owner=X/discovery_owner
CREATE OR REPLACE FUNCTION discovery._plan_and_changes_sql(p_plan_sql text)
 RETURNS text
 LANGUAGE sql
 IMMUTABLE PARALLEL SAFE
AS $function$
    SELECT format($text$
        WITH plan AS MATERIALIZED (
            SELECT p.*, $1::uuid AS dw_client_account_id
              FROM (%s) AS p
        ),
        changes AS MATERIALIZED (
            -- what matched records change on existing assets: per asset and
            -- field, the value of the last record by row_number
            SELECT DISTINCT ON (c.asset_id, c.field) c.*
              FROM (
                SELECT p.asset_id, p.raw_import_record_id, p.row_number, f.field, f.old_value, f.new_value
                  FROM plan AS p
                  JOIN migration.assets AS a
                    ON a.client_account_id = p.dw_client_account_id
                   AND a.id = p.asset_id
                   AND a.client_account_id OPERATOR(migration.===) $1
                 CROSS JOIN LATERAL discovery._field_changes(to_jsonb(a), p.fields, $6) AS f
                 WHERE p.matched_existing AND p.handles
              ) AS c
             ORDER BY c.asset_id, c.field, c.row_number DESC
        )
$text$, p_plan_sql);
$function$
-- owner discovery_owner acl discovery_owner=X/discovery_owner
CREATE OR REPLACE FUNCTION discovery._plan_sql(p_client_account_id uuid, p_engagement_id uuid, p_data_import_id uuid, p_assets jsonb, p_tenant_has_assets boolean)
 RETURNS text
 LANGUAGE plpgsql
AS $function$
DECLARE
    v_rules jsonb := '{}';
    v_defaults jsonb := '{}';
    v_keys text[];
    v_input text;
    v_lookups text;
BEGIN
    IF p_assets IS NULL THEN
        v_rules := discovery._mapping_rules(p_client_account_id, p_data_import_id);
        SELECT i.field_defaults INTO v_defaults
          FROM migration.data_imports AS i
         WHERE i.client_account_id = p_client_account_id
           AND i.id = p_data_import_id;
        v_keys := discovery._raw_data_keys(p_client_account_id, p_data_import_id, TRUE);
        v_input := 'SELECT r.id, r.row_number, r.asset_id, r.is_processed, r.is_valid, r.cleansed_data, r.validation_errors, '
                   'CASE WHEN r.cleansed_data IS NULL AND jsonb_typeof(r.raw_data) = ''object'' THEN r.raw_data '
                   'ELSE ''{}''::jsonb END AS data '
                   'FROM migration.raw_import_records AS r '
                   'WHERE r.data_import_id = $4 AND NOT r.is_processed '
                   'AND r.client_account_id OPERATOR(migration.===) $1 AND r.engagement_id IS NOT DISTINCT FROM $2';
    ELSE
        -- the keys once each (a hash of them; array_agg(DISTINCT) sorted every key of every record)
        SELECT array_agg(d.key ORDER BY d.key) INTO v_keys
          FROM (SELECT DISTINCT k.key
              FROM jsonb_array_elements(p_assets) AS e (value)
             CROSS JOIN LATERAL jsonb_object_keys(e.value - 'raw_import_record_id') AS k (key)) AS d;
        v_input := 'SELECT r.id, r.row_number, r.asset_id, r.is_processed, NULL::boolean AS is_valid, NULL::jsonb AS cleansed_data, '
                   'NULL::jsonb AS validation_errors, e.value - ''raw_import_record_id'' AS data '
                   'FROM (SELECT $1::uuid AS tenant, x.value FROM jsonb_array_elements($5) AS x (value) '
                   'OFFSET 0) AS e '
                   'JOIN migration.raw_import_records AS r '
                   'ON r.client_account_id = e.tenant AND r.id = (e.value ->> ''raw_import_record_id'')::uuid '
                   'AND r.client_account_id OPERATOR(migration.===) $1 '
                   'WHERE NOT r.is_processed OR r.asset_id IS NOT NULL OR r.processing_status = ''invalid''';
    END IF;

    -- Each candidate record's candidates, by an indexed lookup of each of its
    -- keys; with no live asset in the tenant (a first import) there is none to
    -- find, and the records take constants instead (a lateral subquery per
    -- record, even one whose branches are all false, cost 3 s a million).
    IF p_tenant_has_assets THEN
        v_lookups := $lookups$
             CROSS JOIN LATERAL (
                -- The best key is the key of the lowest rank (a key's text depends
                -- on its rank only), its rank one digit before it. An aggregate's
                -- argument is computed only for the rows its filter keeps.
                SELECT count(*) FILTER (WHERE d.verdict = 'same') AS n_same,
                       jsonb_agg(jsonb_build_array(d.rank, d.created_at, d.id)) FILTER (WHERE d.verdict = 'same')
                           AS same,
                       substr(min(d.rank::text || d.key COLLATE "C") FILTER (WHERE d.verdict = 'same'), 2) AS best_key,
                       jsonb_agg(jsonb_build_array(d.created_at, d.id, d.key)) FILTER (WHERE d.verdict = 'apart')
                           AS apart
                  FROM (
                    SELECT a.id, a.created_at, v.rank, v.key,
                           CASE WHEN NOT v.equal THEN 'different'
                                WHEN v.rank >= 4 AND k.named AND ak.a_named
                                     AND ak.a_name IS DISTINCT FROM k.k_name THEN 'apart'
                                ELSE 'same' END AS verdict
                      FROM (
                        -- UNION ALL, the branches numbered: UNION built a hash table
                        -- for every record, sized by the planner's estimate (about
                        -- 200 kB zeroed per record in a big tenant). An asset that
                        -- an earlier branch finds too is dropped below, once its
                        -- keys are known.
                        SELECT 1 AS branch, a.id, a.created_at, a.name, a.asset_type, a.hostname, a.fqdn,
                               a.ip_address, a.external_ids
                          FROM migration.assets AS a
                         WHERE migration.short_name_key(a.hostname, a.fqdn) = k.k_short
                           AND a.client_account_id = k.dw_client_account_id AND a.engagement_id = k.dw_engagement_id
                           AND a.client_account_id OPERATOR(migration.===) $1
                           AND a.deleted_at IS NULL AND (a.hostname IS NOT NULL OR a.fqdn IS NOT NULL)
                           AND k.asset_id IS NULL AND k.valid
                        UNION ALL
                        SELECT 2, a.id, a.created_at, a.name, a.asset_type, a.hostname, a.fqdn, a.ip_address,
                               a.external_ids
                          FROM migration.assets AS a
                         WHERE migration.ip_key(a.ip_address) = k.k_ip
                           AND a.client_account_id = k.dw_client_account_id AND a.engagement_id = k.dw_engagement_id
                           AND a.client_account_id OPERATOR(migration.===) $1
                           AND a.deleted_at IS NULL AND a.ip_address IS NOT NULL
                           AND k.asset_id IS NULL AND k.valid
                        UNION ALL
                        SELECT 3, a.id, a.created_at, a.name, a.asset_type, a.hostname, a.fqdn, a.ip_address,
                               a.external_ids
                          FROM migration.assets AS a
                         WHERE migration.identity_text(a.name) = k.k_name
                           AND a.client_account_id = k.dw_client_account_id AND a.engagement_id = k.dw_engagement_id
                           AND a.client_account_id OPERATOR(migration.===) $1
                           AND a.deleted_at IS NULL AND a.name IS NOT NULL
                           AND k.asset_id IS NULL AND k.valid
                        UNION ALL
                        SELECT 4, a.id, a.created_at, a.name, a.asset_type, a.hostname, a.fqdn, a.ip_address,
                               a.external_ids
                          FROM jsonb_each(k.k_ext) AS e
                          JOIN migration.assets AS a
                            ON a.external_ids @> jsonb_build_object(e.key, e.value)
                           AND a.client_account_id = k.dw_client_account_id AND a.engagement_id = k.dw_engagement_id
                           AND a.client_account_id OPERATOR(migration.===) $1
                           AND a.deleted_at IS NULL AND a.external_ids <> '{}'::jsonb
                           AND k.asset_id IS NULL AND k.valid
                         -- an asset sharing several of the record's external IDs: once,
                         -- through the first of them
                         WHERE NOT EXISTS (SELECT FROM jsonb_each(k.k_ext) AS f
                                            WHERE f.key < e.key
                                              AND a.external_ids @> jsonb_build_object(f.key, f.value))
                      ) AS a
                     CROSS JOIN LATERAL (
                        -- the candidate's keys, each only when the record has it (a
                        -- key the record lacks is never compared), and none that the
                        -- branch's index condition found equal to the record's
                        SELECT CASE WHEN k.k_fqdn IS NOT NULL THEN migration.fqdn_key(a.fqdn) END AS a_fqdn,
                               CASE WHEN a.branch = 1 THEN k.k_short
                                    WHEN k.k_short IS NOT NULL THEN migration.short_name_key(a.hostname, a.fqdn)
                               END AS a_short,
                               CASE WHEN a.branch = 2 THEN k.k_ip
                                    WHEN k.k_ip IS NOT NULL THEN migration.ip_key(a.ip_address)
                               END AS a_ip,
                               CASE WHEN a.branch = 3 THEN k.k_name ELSE migration.identity_text(a.name) END AS a_name,
                               a.name IS DISTINCT FROM a.ip_address AS a_named,
                               migration.identity_text(a.asset_type) AS a_type,
                               CASE WHEN k.k_ext IS NOT NULL THEN (
                                   SELECT bool_or(a.external_ids ? e.key) FROM jsonb_each(k.k_ext) AS e)
                               END AS ext_shared,
                               CASE WHEN k.k_ext IS NOT NULL THEN (
                                   SELECT bool_or(a.external_ids ? e.key AND a.external_ids -> e.key <> e.value)
                                     FROM jsonb_each(k.k_ext) AS e)
                               END AS ext_differs
                         OFFSET 0  -- once per candidate (pulled up, each use below would call them again)
                     ) AS ak
                     CROSS JOIN LATERAL (
                        -- the highest-ranked key both have (none: not a candidate)
                        SELECT CASE
                                   WHEN ak.ext_shared THEN 1
                                   WHEN k.k_fqdn IS NOT NULL AND ak.a_fqdn IS NOT NULL THEN 2
                                   WHEN k.k_short IS NOT NULL AND ak.a_short IS NOT NULL THEN 3
                                   WHEN k.k_ip IS NOT NULL AND ak.a_ip IS NOT NULL THEN 4
                                   WHEN k.k_type IS NOT NULL AND ak.a_type IS NOT NULL AND k.k_name IS NOT NULL
                                        AND ak.a_name IS NOT NULL THEN 5
                                   WHEN k.k_name IS NOT NULL AND ak.a_name IS NOT NULL THEN 6
                               END AS rank
                     ) AS rk
                     CROSS JOIN LATERAL (
                        -- that key, and whether the two are equal on it
                        SELECT rk.rank,
                               CASE rk.rank
                                   WHEN 1 THEN 'external_id'
                                   WHEN 2 THEN 'fqdn=' || k.k_fqdn
                                   WHEN 3 THEN 'hostname=' || k.k_short
                                   WHEN 4 THEN 'ip_address=' || host(k.k_ip)
                                   WHEN 5 THEN 'name+asset_type=' || k.k_name || '+' || k.k_type
                                   ELSE 'name=' || k.k_name
                               END AS key,
                               CASE rk.rank
                                   WHEN 1 THEN NOT ak.ext_differs
                                   WHEN 2 THEN k.k_fqdn = ak.a_fqdn
                                   WHEN 3 THEN k.k_short = ak.a_short
                                   WHEN 4 THEN k.k_ip = ak.a_ip
                                   WHEN 5 THEN k.k_name = ak.a_name AND k.k_type = ak.a_type
                                   ELSE k.k_name = ak.a_name
                               END AS equal
                         WHERE rk.rank IS NOT NULL
                     ) AS v
                    -- each asset once: from the first branch that finds it
                    WHERE (a.branch = 1 OR (ak.a_short = k.k_short) IS NOT TRUE)
                      AND (a.branch <= 2 OR (ak.a_ip = k.k_ip) IS NOT TRUE)
                      AND (a.branch <= 3 OR (ak.a_name = k.k_name) IS NOT TRUE)
                  ) AS d
             ) AS h
$lookups$;
    ELSE
        v_lookups := 'CROSS JOIN LATERAL (SELECT 0::bigint AS n_same, NULL::jsonb AS same, NULL::text AS best_key, '
                     'NULL::jsonb AS apart) AS h';
    END IF;

    RETURN format($plan$
        WITH looked_up AS (
            -- The candidates in order (by rank, then age), and the oldest asset
            -- kept apart: sorted here, and only when there are two or more. An
            -- ordered aggregate would start a sort for every record, even one
            -- with no candidate.
            SELECT k.*, h.n_same, h.best_key,
                   CASE WHEN h.n_same = 1 THEN ARRAY[(h.same -> 0 ->> 2)::uuid]
                        WHEN h.n_same > 1 THEN (
                            SELECT array_agg((e.value ->> 2)::uuid ORDER BY (e.value ->> 0)::integer,
                                             (e.value ->> 1)::timestamptz, (e.value ->> 2)::uuid)
                              FROM jsonb_array_elements(h.same) AS e (value))
                   END AS candidate_ids,
                   CASE WHEN jsonb_array_length(h.apart) > 1 THEN (
                            SELECT e.value
                              FROM jsonb_array_elements(h.apart) AS e (value)
                             ORDER BY (e.value ->> 0)::timestamptz, (e.value ->> 1)::uuid
                             LIMIT 1)
                        ELSE h.apart -> 0
                   END AS apart
              FROM (
                -- each record's identity keys, computed once (OFFSET 0: pulled
                -- up, every use of a key below would compute it again)
                SELECT x.*, $1::uuid AS dw_client_account_id, $2::uuid AS dw_engagement_id,
                       CASE WHEN x.cleansed_now THEN NOT x.problems @> '[{"severity": "error"}]'
                            ELSE x.is_valid IS DISTINCT FROM FALSE END AS valid,
                       nullif(x.fields -> 'external_ids', '{}'::jsonb) AS k_ext,
                       migration.fqdn_key(x.fields ->> 'fqdn') AS k_fqdn,
                       migration.short_name_key(x.fields ->> 'hostname', x.fields ->> 'fqdn') AS k_short,
                       migration.ip_key(x.fields ->> 'ip_address') AS k_ip,
                       migration.identity_text(coalesce(x.fields ->> 'name', x.fields ->> 'asset_name',
                                                        x.fields ->> 'hostname', x.fields ->> 'fqdn',
                                                        x.fields ->> 'ip_address')) AS k_name,
                       coalesce(x.fields ->> 'name', x.fields ->> 'asset_name', x.fields ->> 'hostname',
                                x.fields ->> 'fqdn') IS NOT NULL AS named,
                       migration.identity_text(x.fields ->> 'asset_type') AS k_type
                  FROM (
                    -- each record's fields: its cleansed data when it has some, else
                    -- the cleansing pipeline's (OFFSET 0: computed once)
                    SELECT c.id, c.row_number, c.asset_id, c.is_processed, c.is_valid,
                           c.cleansed_data IS NULL AS cleansed_now,
                           coalesce(c.cleansed_data, c.fields) AS fields,
                           CASE WHEN c.cleansed_data IS NULL THEN c.problems
                                WHEN jsonb_typeof(c.validation_errors) = 'array' THEN c.validation_errors
                                ELSE '[]'::jsonb END AS problems
                      FROM (%1$s) AS c
                    OFFSET 0
                  ) AS x
                OFFSET 0
              ) AS k
             %2$s
        ),
        topped AS MATERIALIZED (
            -- each record's strongest key, and the ID its asset gets if it creates
            -- one (drawn here, in the order the records are read). Stored once: the grouping
            -- reads its keys, the records' order the whole rows.
            SELECT l.*, l.candidate_ids[1] AS best_id, (l.apart ->> 1)::uuid AS apart_id,
                   l.apart ->> 2 AS apart_key,
                   migration.uuid_v7() AS new_id,
                   (l.asset_id IS NULL AND l.valid AND l.n_same = 0) AS is_new,
                   CASE
                       WHEN l.k_ext IS NOT NULL
                           THEN 'external_id ' || (SELECT min(e.key || '=' || (e.value #>> '{}'))
                                                     FROM jsonb_each(l.k_ext) AS e)
                       WHEN l.k_fqdn IS NOT NULL THEN 'fqdn=' || l.k_fqdn
                       WHEN l.k_short IS NOT NULL THEN 'hostname=' || l.k_short
                       WHEN l.k_ip IS NOT NULL
                           THEN 'ip_address=' || host(l.k_ip) || CASE WHEN l.named THEN ' name=' || l.k_name ELSE '' END
                       WHEN l.k_type IS NOT NULL AND l.k_name IS NOT NULL
                           THEN 'name+asset_type=' || l.k_name || '+' || l.k_type
                       WHEN l.k_name IS NOT NULL THEN 'name=' || l.k_name
                       ELSE 'record=' || l.id
                   END AS top_key
              FROM looked_up AS l
        ),
        grouped AS (
            -- the groups of new records, on the keys alone: each sort by a key
            -- handles a few short columns, not the whole record with its fields
            SELECT a.row_number, a.id, a.group_key,
                   first_value(a.row_number) OVER new_group AS first_row,
                   first_value(a.new_id) OVER new_group AS group_asset_id
              FROM (
                SELECT w.row_number, w.id, w.new_id,
                       CASE
                           WHEN NOT w.is_new THEN NULL
                           WHEN w.top_key LIKE 'hostname=%%' AND w.fqdn_low = w.fqdn_high THEN 'fqdn=' || w.fqdn_low
                           WHEN w.top_key LIKE 'ip_address=%%' AND NOT w.named AND w.ip_low = w.ip_high THEN w.ip_low
                           WHEN w.top_key LIKE 'name=%%' AND w.typed_low = w.typed_high THEN w.typed_low
                           ELSE w.top_key
                       END AS group_key
                  FROM (
                    SELECT t.row_number, t.id, t.new_id, t.is_new, t.named, t.top_key,
                           min(t.k_fqdn) FILTER (WHERE t.is_new AND t.k_ext IS NULL) OVER (PARTITION BY t.k_short)
                               AS fqdn_low,
                           max(t.k_fqdn) FILTER (WHERE t.is_new AND t.k_ext IS NULL) OVER (PARTITION BY t.k_short)
                               AS fqdn_high,
                           min(t.top_key) FILTER (WHERE t.is_new AND t.named AND t.top_key LIKE 'ip_address=%%')
                               OVER (PARTITION BY t.k_ip) AS ip_low,
                           max(t.top_key) FILTER (WHERE t.is_new AND t.named AND t.top_key LIKE 'ip_address=%%')
                               OVER (PARTITION BY t.k_ip) AS ip_high,
                           min(t.top_key) FILTER (WHERE t.is_new AND t.top_key LIKE 'name+asset_type=%%')
                               OVER (PARTITION BY t.k_name) AS typed_low,
                           max(t.top_key) FILTER (WHERE t.is_new AND t.top_key LIKE 'name+asset_type=%%')
                               OVER (PARTITION BY t.k_name) AS typed_high
                      FROM topped AS t
                  ) AS w
              ) AS a
            WINDOW new_group AS (PARTITION BY a.group_key ORDER BY a.row_number, a.id)
        ),
        zipped AS (
            -- each record with its group, without a join: the two sorted together
            -- by record, the group's row first, which first_value() then reads
            SELECT z.*,
                   first_value(z.g_key) OVER one_record AS group_key,
                   first_value(z.g_first_row) OVER one_record AS first_row,
                   first_value(z.g_asset_id) OVER one_record AS group_asset_id
              FROM (
                SELECT g.row_number, g.id, 0 AS part, g.group_key AS g_key, g.first_row AS g_first_row,
                       g.group_asset_id AS g_asset_id, NULL::uuid AS asset_id, NULL::boolean AS is_processed,
                       NULL::jsonb AS fields, NULL::jsonb AS problems, NULL::boolean AS valid,
                       NULL::boolean AS cleansed_now, NULL::bigint AS n_same, NULL::text AS best_key,
                       NULL::uuid AS best_id, NULL::uuid[] AS candidate_ids, NULL::uuid AS apart_id,
                       NULL::text AS apart_key
                  FROM grouped AS g
                UNION ALL
                SELECT t.row_number, t.id, 1, NULL, NULL, NULL, t.asset_id, t.is_processed, t.fields, t.problems,
                       t.valid, t.cleansed_now, t.n_same, t.best_key, t.best_id, t.candidate_ids, t.apart_id,
                       t.apart_key
                  FROM topped AS t
              ) AS z
            WINDOW one_record AS (PARTITION BY z.row_number, z.id ORDER BY z.part)
        )
        SELECT g.id AS raw_import_record_id,
               g.row_number,
               o.outcome,
               NOT (o.outcome = 'already_linked' AND g.is_processed) AS handles,
               CASE o.outcome
                   WHEN 'already_linked' THEN g.asset_id
                   WHEN 'created' THEN g.group_asset_id
                   WHEN 'matched' THEN coalesce(g.best_id, g.group_asset_id)
               END AS asset_id,
               o.outcome = 'matched' AND g.best_id IS NOT NULL AS matched_existing,
               g.fields,
               g.problems,
               g.valid,
               g.cleansed_now,
               CASE o.outcome
                   WHEN 'already_linked' THEN format('already linked to asset %%s', g.asset_id)
                   WHEN 'invalid' THEN 'invalid: ' || coalesce((
                            SELECT string_agg(concat_ws(': ', p.value ->> 'field', p.value ->> 'error'), '; ')
                              FROM jsonb_array_elements(g.problems) AS p (value)
                             WHERE p.value ->> 'severity' IS DISTINCT FROM 'warning'), 'failed validation')
                   WHEN 'conflict' THEN format('conflict: identity matches %%s assets (highest-ranked key %%s); '
                                               'pending resolution', g.n_same, g.best_key)
                   WHEN 'created' THEN 'created (identity ' || g.group_key || ')'
                   ELSE coalesce('matched existing asset by ' || g.best_key,
                                 format('matched the asset created from row %%s (same %%s)', g.first_row, g.group_key))
               END
               || CASE WHEN g.apart_id IS NOT NULL AND o.outcome IN ('created', 'matched')
                       THEN format('; asset %%s shares %%s but has another name: kept apart', g.apart_id, g.apart_key)
                       ELSE '' END AS notes,
               g.best_id AS existing_asset_id,
               g.candidate_ids AS candidate_asset_ids,
               g.best_key AS conflict_key
          FROM zipped AS g
         CROSS JOIN LATERAL (
            SELECT CASE
                       WHEN g.asset_id IS NOT NULL THEN 'already_linked'
                       WHEN NOT g.valid THEN 'invalid'
                       WHEN g.n_same >= 2 THEN 'conflict'
                       WHEN g.n_same = 1 THEN 'matched'
                       WHEN g.first_row = g.row_number THEN 'created'
                       ELSE 'matched'
                   END AS outcome
         ) AS o
         WHERE g.part = 1
         -- in the records' order (zipped's sort already gives it): the new
         -- assets are inserted, and the records updated, in about the order of
         -- their IDs (version 7: drawn in this order), so each index led by an
         -- ID is written at one end of the batch's range instead of all over it
         -- (migration 0016)
         ORDER BY g.row_number
    $plan$, discovery._cleansing_sql(v_rules, coalesce(v_keys, '{}'), coalesce(v_defaults, '{}'), v_input),
        v_lookups);
END
$function$
-- owner discovery_owner acl discovery_owner=X/discovery_owner
CREATE OR REPLACE FUNCTION discovery._raise(p_sqlstate text, p_message text, p_detail text, p_hint text)
 RETURNS void
 LANGUAGE plpgsql
 SET search_path TO 'pg_catalog', 'pg_temp'
AS $function$
BEGIN
    RAISE EXCEPTION USING
        ERRCODE = p_sqlstate,
        MESSAGE = p_message,
        DETAIL = p_detail,
        HINT = p_hint;
END
$function$
-- owner discovery_owner acl discovery_owner=X/discovery_owner
CREATE OR REPLACE FUNCTION discovery._raw_data_keys(p_client_account_id uuid, p_data_import_id uuid, p_uncleansed_only boolean)
 RETURNS text[]
 LANGUAGE plpgsql
 STABLE
AS $function$
DECLARE
    v_keys text[];
BEGIN
    WITH scope AS NOT MATERIALIZED (
        SELECT r.raw_data
          FROM migration.raw_import_records AS r
         WHERE r.data_import_id = p_data_import_id
           AND NOT r.is_processed
           AND r.client_account_id OPERATOR(migration.===) p_client_account_id
           AND (NOT p_uncleansed_only OR r.cleansed_data IS NULL)
           AND jsonb_typeof(r.raw_data) = 'object'
    ),
    seed AS MATERIALIZED (
        SELECT coalesce(array_agg(k.key), '{}') AS keys
          FROM (SELECT s.raw_data FROM scope AS s LIMIT 1) AS s
         CROSS JOIN LATERAL jsonb_object_keys(s.raw_data) AS k (key)
    )
    SELECT array_agg(d.key ORDER BY d.key) INTO v_keys
      FROM (SELECT u.key FROM seed CROSS JOIN LATERAL unnest(seed.keys) AS u (key)
            UNION
            SELECT k.key
              FROM (SELECT s.raw_data - seed.keys AS rest FROM scope AS s CROSS JOIN seed OFFSET 0) AS x
             CROSS JOIN LATERAL jsonb_object_keys(x.rest) AS k (key)
             WHERE x.rest <> '{}'::jsonb) AS d;
    RETURN v_keys;
END
$function$
-- owner discovery_owner acl discovery_owner=X/discovery_owner
CREATE OR REPLACE FUNCTION discovery._refresh_statistics(p_table regclass)
 RETURNS boolean
 LANGUAGE plpgsql
AS $function$
DECLARE
    v_lock_timeout text := current_setting('lock_timeout');
    v_analyzed boolean := true;
    v_distributed boolean;
    v_citus_tables regclass := to_regclass('pg_catalog.pg_dist_partition');
BEGIN
    -- A distributed table (Citus): ANALYZE would fan out to every shard from
    -- inside a delegated call; each worker's autovacuum analyses its shards.
    IF v_citus_tables IS NOT NULL THEN
        EXECUTE format('SELECT EXISTS (SELECT FROM %s AS p WHERE p.logicalrelid = $1)', v_citus_tables)
           INTO v_distributed USING p_table;
        IF v_distributed THEN
            RETURN FALSE;
        END IF;
    END IF;
    PERFORM set_config('lock_timeout', '100ms', true);
    BEGIN
        EXECUTE format('ANALYZE %s', p_table);
    EXCEPTION WHEN lock_not_available THEN
        v_analyzed := false;
    END;
    PERFORM set_config('lock_timeout', v_lock_timeout, true);
    RETURN v_analyzed;
END
$function$
-- owner discovery_owner acl discovery_owner=X/discovery_owner
CREATE OR REPLACE FUNCTION discovery._repair_wiring(p_client_account_id uuid, p_engagement_id uuid)
 RETURNS jsonb
 LANGUAGE plpgsql
AS $function$
DECLARE
    v_now timestamptz := now();
    v_repaired jsonb := '{}'::jsonb;
    v_count bigint;
BEGIN
    -- A discovery_flow_id that holds a flow's public flow_id (unique per client).
    WITH fixed AS (
        UPDATE migration.assets AS a
           SET discovery_flow_id = f.id, updated_at = v_now
          FROM migration.discovery_flows AS f
         WHERE a.client_account_id = p_client_account_id
           AND a.engagement_id = p_engagement_id
           AND a.deleted_at IS NULL
           AND f.client_account_id = p_client_account_id
           AND f.engagement_id = p_engagement_id
           AND f.flow_id = a.discovery_flow_id
           AND NOT EXISTS (
               SELECT FROM migration.discovery_flows AS known
                WHERE known.client_account_id = p_client_account_id
                  AND known.engagement_id = p_engagement_id
                  AND known.id = a.discovery_flow_id)
        RETURNING 1
    )
    SELECT count(*) INTO v_count FROM fixed;
    v_repaired := v_repaired || jsonb_build_object('discovery_flow_id_from_flow_id', v_count);

    -- A null discovery_flow_id, from the legacy flow_id naming exactly one flow.
    WITH candidates AS (
        SELECT a.id, (array_agg(DISTINCT f.id))[1] AS discovery_flow_id
          FROM migration.assets AS a
          JOIN migration.discovery_flows AS f
            ON f.client_account_id = a.client_account_id
           AND f.engagement_id = a.engagement_id
           AND (f.id = a.flow_id OR f.flow_id = a.flow_id)
         WHERE a.client_account_id = p_client_account_id
           AND a.engagement_id = p_engagement_id
           AND a.deleted_at IS NULL
           AND a.discovery_flow_id IS NULL
           AND a.flow_id IS NOT NULL
         GROUP BY a.id
        HAVING count(DISTINCT f.id) = 1
    ),
    fixed AS (
        UPDATE migration.assets AS a
           SET discovery_flow_id = c.discovery_flow_id, updated_at = v_now
          FROM candidates AS c
         WHERE a.client_account_id = p_client_account_id
           AND a.id = c.id
        RETURNING 1
    )
    SELECT count(*) INTO v_count FROM fixed;
    v_repaired := v_repaired || jsonb_build_object('discovery_flow_id_from_legacy_flow_id', v_count);

    -- A null discovery_flow_id, from the raw record's import having exactly one flow.
    WITH candidates AS (
        SELECT a.id, (array_agg(DISTINCT f.id))[1] AS discovery_flow_id
          FROM migration.assets AS a
          JOIN migration.raw_import_records AS r
            ON r.client_account_id = a.client_account_id
           AND r.engagement_id = a.engagement_id
           AND r.id = a.raw_import_records_id
          JOIN migration.discovery_flows AS f
            ON f.client_account_id = r.client_account_id
           AND f.engagement_id = r.engagement_id
           AND f.data_import_id = r.data_import_id
         WHERE a.client_account_id = p_client_account_id
           AND a.engagement_id = p_engagement_id
           AND a.deleted_at IS NULL
           AND a.discovery_flow_id IS NULL
         GROUP BY a.id
        HAVING count(DISTINCT f.id) = 1
    ),
    fixed AS (
        UPDATE migration.assets AS a
           SET discovery_flow_id = c.discovery_flow_id, updated_at = v_now
          FROM candidates AS c
         WHERE a.client_account_id = p_client_account_id
           AND a.id = c.id
        RETURNING 1
    )
    SELECT count(*) INTO v_count FROM fixed;
    v_repaired := v_repaired || jsonb_build_object('discovery_flow_id_from_raw_import', v_count);

    -- master_flow_id follows the discovery flow.
    WITH fixed AS (
        UPDATE migration.assets AS a
           SET master_flow_id = f.master_flow_id, updated_at = v_now
          FROM migration.discovery_flows AS f
         WHERE a.client_account_id = p_client_account_id
           AND a.engagement_id = p_engagement_id
           AND a.deleted_at IS NULL
           AND f.client_account_id = p_client_account_id
           AND f.engagement_id = p_engagement_id
           AND f.id = a.discovery_flow_id
           AND a.master_flow_id IS DISTINCT FROM f.master_flow_id
        RETURNING 1
    )
    SELECT count(*) INTO v_count FROM fixed;
    v_repaired := v_repaired || jsonb_build_object('master_flow_id_from_discovery_flow', v_count);

    -- A flow-based asset with a null or orphan origin, to which exactly one
    -- raw record points, gets that record as its origin. When the asset's
    -- flow is known, only records of that flow's import count (records of
    -- later imports matched to the asset did not create it).
    WITH pointers AS (
        SELECT a.id AS asset_id, (array_agg(r.id))[1] AS raw_id
          FROM migration.assets AS a
          JOIN migration.raw_import_records AS r
            ON r.client_account_id = a.client_account_id
           AND r.engagement_id = a.engagement_id
           AND r.asset_id = a.id
          LEFT JOIN migration.discovery_flows AS f
            ON f.client_account_id = a.client_account_id
           AND f.engagement_id = a.engagement_id
           AND f.id = a.discovery_flow_id
         WHERE a.client_account_id = p_client_account_id
           AND a.engagement_id = p_engagement_id
           AND (f.data_import_id IS NULL OR r.data_import_id = f.data_import_id)
         GROUP BY a.id
        HAVING count(*) = 1
    ),
    fixed AS (
        UPDATE migration.assets AS a
           SET raw_import_records_id = p.raw_id, updated_at = v_now
          FROM pointers AS p
         WHERE a.client_account_id = p_client_account_id
           AND a.engagement_id = p_engagement_id
           AND a.id = p.asset_id
           AND a.deleted_at IS NULL
           AND a.discovery_method = 'flow_based'
           AND (a.raw_import_records_id IS NULL OR NOT EXISTS (
               SELECT FROM migration.raw_import_records AS known
                WHERE known.client_account_id = p_client_account_id
                  AND known.engagement_id = p_engagement_id
                  AND known.id = a.raw_import_records_id))
        RETURNING 1
    )
    SELECT count(*) INTO v_count FROM fixed;
    v_repaired := v_repaired || jsonb_build_object('asset_origin_from_back_pointer', v_count);

    -- A raw record that exactly one live asset names as its origin, whose
    -- asset_id is null or finds no asset, gets the back-pointer.
    WITH origins AS (
        SELECT a.raw_import_records_id AS raw_id, (array_agg(a.id))[1] AS asset_id,
               bool_and(a.deleted_at IS NULL) AS live
          FROM migration.assets AS a
         WHERE a.client_account_id = p_client_account_id
           AND a.engagement_id = p_engagement_id
           AND a.raw_import_records_id IS NOT NULL
         GROUP BY a.raw_import_records_id
        HAVING count(*) = 1
    ),
    fixed AS (
        UPDATE migration.raw_import_records AS r
           SET asset_id = o.asset_id,
               is_processed = true,
               processed_at = coalesce(r.processed_at, v_now),
               processing_status = CASE WHEN r.processing_status IN ('created', 'matched')
                                        THEN r.processing_status ELSE 'created' END,
               processing_notes = 'repaired: back-pointer to the asset that names this record as its origin'
          FROM origins AS o
         WHERE r.client_account_id = p_client_account_id
           AND r.engagement_id = p_engagement_id
           AND r.id = o.raw_id
           AND o.live
           AND (r.asset_id IS NULL OR NOT EXISTS (
               SELECT FROM migration.assets AS known
                WHERE known.client_account_id = p_client_account_id
                  AND known.engagement_id = p_engagement_id
                  AND known.id = r.asset_id))
        RETURNING 1
    )
    SELECT count(*) INTO v_count FROM fixed;
    v_repaired := v_repaired || jsonb_build_object('raw_back_pointer_from_asset_origin', v_count);

    -- Assets made before the linkage existed: a flow-based asset with no raw
    -- record, in a flow whose import holds exactly one unlinked record of the
    -- same identity (hostname, case-insensitive, else name), and that record
    -- fits no other such asset.
    WITH orphans AS (
        SELECT a.id, f.data_import_id,
               CASE WHEN a.hostname IS NOT NULL THEN 'hostname=' || lower(a.hostname)
                    ELSE 'name=' || lower(a.name) END AS identity
          FROM migration.assets AS a
          JOIN migration.discovery_flows AS f
            ON f.client_account_id = a.client_account_id
           AND f.engagement_id = a.engagement_id
           AND f.id = a.discovery_flow_id
         WHERE a.client_account_id = p_client_account_id
           AND a.engagement_id = p_engagement_id
           AND a.deleted_at IS NULL
           AND a.discovery_method = 'flow_based'
           AND a.raw_import_records_id IS NULL
           AND coalesce(a.hostname, a.name) IS NOT NULL
           AND f.data_import_id IS NOT NULL
           AND NOT EXISTS (
               SELECT FROM migration.raw_import_records AS r
                WHERE r.client_account_id = a.client_account_id
                  AND r.engagement_id = a.engagement_id
                  AND r.asset_id = a.id
                  AND r.data_import_id = f.data_import_id)
    ),
    unlinked AS (
        SELECT r.id, r.data_import_id,
               CASE WHEN x.hostname IS NOT NULL THEN 'hostname=' || lower(x.hostname)
                    ELSE 'name=' || lower(x.name) END AS identity
          FROM migration.raw_import_records AS r
         CROSS JOIN LATERAL (
             SELECT discovery._mapped_field(coalesce(r.cleansed_data, r.raw_data), m.rules, 'hostname') AS hostname,
                    discovery._mapped_field(coalesce(r.cleansed_data, r.raw_data), m.rules, 'name') AS name
               FROM (SELECT CASE WHEN r.cleansed_data IS NULL
                                 THEN discovery._mapping_rules(r.client_account_id, r.data_import_id)
                                 ELSE '{}'::jsonb END AS rules) AS m
         ) AS x
         WHERE r.client_account_id = p_client_account_id
           AND r.engagement_id = p_engagement_id
           AND r.asset_id IS NULL
           AND r.data_import_id IN (SELECT o.data_import_id FROM orphans AS o)
           -- an invalid record links to nothing, and a conflict is for a person to decide
           AND r.processing_status IS DISTINCT FROM 'invalid'
           AND r.processing_status IS DISTINCT FROM 'conflict'
           AND r.processing_status IS DISTINCT FROM 'discarded'
           AND NOT EXISTS (
               SELECT FROM migration.asset_conflict_resolutions AS c
                WHERE c.client_account_id = r.client_account_id
                  AND c.raw_import_record_id = r.id
                  AND c.resolution_status = 'pending')
    ),
    pairs AS (
        SELECT o.id AS asset_id, u.id AS raw_id,
               count(*) OVER (PARTITION BY o.id) AS records_per_asset,
               count(*) OVER (PARTITION BY u.id) AS assets_per_record
          FROM orphans AS o
          JOIN unlinked AS u
            ON u.data_import_id = o.data_import_id
           AND u.identity = o.identity
    ),
    certain AS MATERIALIZED (
        SELECT p.asset_id, p.raw_id
          FROM pairs AS p
         WHERE p.records_per_asset = 1 AND p.assets_per_record = 1
    ),
    linked_assets AS (
        UPDATE migration.assets AS a
           SET raw_import_records_id = c.raw_id, updated_at = v_now
          FROM certain AS c
         WHERE a.client_account_id = p_client_account_id
           AND a.id = c.asset_id
        RETURNING 1
    ),
    linked_records AS (
        UPDATE migration.raw_import_records AS r
           SET asset_id = c.asset_id,
               is_processed = true,
               processed_at = coalesce(r.processed_at, v_now),
               processing_status = 'created',
               processing_notes = 'repaired: linked by identity to an asset made before the linkage existed'
          FROM certain AS c
         WHERE r.client_account_id = p_client_account_id
           AND r.id = c.raw_id
        RETURNING 1
    )
    SELECT (SELECT count(*) FROM linked_assets) INTO v_count
      FROM (SELECT count(*) FROM linked_records) AS done;
    v_repaired := v_repaired || jsonb_build_object('linked_by_identity', v_count);

    RETURN v_repaired;
END
$function$
-- owner discovery_owner acl discovery_owner=X/discovery_owner
CREATE OR REPLACE FUNCTION discovery._sync_flow_state(p_client_account_id uuid, p_engagement_id uuid, p_discovery_flow_id uuid)
 RETURNS text
 LANGUAGE plpgsql
AS $function$
DECLARE
    v_now timestamptz := now();
    v_flow migration.discovery_flows;
    v_import_status text;
    v_unhandled boolean;
    v_conflicts boolean;
    v_state text;
    v_processed bigint;
    v_failed bigint;
BEGIN
    SELECT f.* INTO v_flow
      FROM migration.discovery_flows AS f
     WHERE f.client_account_id = p_client_account_id
       AND f.engagement_id = p_engagement_id
       AND f.id = p_discovery_flow_id;
    IF NOT FOUND OR v_flow.data_import_id IS NULL THEN
        RETURN NULL;
    END IF;
    SELECT i.status INTO v_import_status
      FROM migration.data_imports AS i
     WHERE i.client_account_id = p_client_account_id
       AND i.id = v_flow.data_import_id;
    v_unhandled := EXISTS (
        -- the partial index of unprocessed records answers this; the tenant is
        -- pinned (migration.===, which no index takes), or a planner whose statistics do
        -- not know the import walks all its processed records (each chunk
        -- added to a completed import calls this)
        SELECT FROM migration.raw_import_records AS r
         WHERE r.data_import_id = v_flow.data_import_id
           AND NOT r.is_processed
           AND r.client_account_id OPERATOR(migration.===) p_client_account_id);
    v_conflicts := EXISTS (
        SELECT FROM migration.asset_conflict_resolutions AS c
         WHERE c.discovery_flow_id = v_flow.id
           AND c.client_account_id = p_client_account_id
           AND c.resolution_status = 'pending');
    SELECT coalesce(sum(c.records) FILTER (WHERE c.outcome <> 'pending'), 0),
           coalesce(sum(c.records) FILTER (WHERE c.outcome = 'invalid'), 0)
      INTO v_processed, v_failed
      FROM migration.record_counts AS c
     WHERE c.client_account_id = p_client_account_id
       AND c.engagement_id = p_engagement_id
       AND c.data_import_id = v_flow.data_import_id;

    v_state := CASE
        WHEN v_import_status = 'undone' THEN 'undone'
        WHEN v_flow.inventory_watermark IS NOT NULL AND NOT v_unhandled AND NOT v_conflicts THEN 'completed'
        ELSE 'active'
    END;

    UPDATE migration.discovery_flows AS f
       SET status = v_state,
           asset_inventory_completed = (v_state = 'completed'),
           current_phase = CASE
                               WHEN v_state IN ('completed', 'undone') THEN v_state
                               WHEN f.inventory_watermark IS NOT NULL THEN 'asset_inventory'
                               ELSE f.current_phase
                           END,
           phase_state = f.phase_state || jsonb_build_object('conflict_resolution_pending', v_conflicts,
                                                             'records_unhandled', v_unhandled),
           updated_at = v_now
     WHERE f.client_account_id = p_client_account_id
       AND f.id = v_flow.id
       AND (f.status, f.asset_inventory_completed, f.phase_state -> 'conflict_resolution_pending',
            f.phase_state -> 'records_unhandled')
           IS DISTINCT FROM (v_state, v_state = 'completed', to_jsonb(v_conflicts), to_jsonb(v_unhandled));

    UPDATE migration.crewai_flow_state_extensions AS m
       SET flow_status = v_state,
           updated_at = v_now
     WHERE m.client_account_id = p_client_account_id
       AND m.engagement_id = p_engagement_id
       AND m.flow_id = v_flow.master_flow_id
       AND m.flow_status IS DISTINCT FROM v_state;

    UPDATE migration.data_imports AS i
       SET status = CASE
                        WHEN v_state = 'undone' THEN 'undone'
                        WHEN v_state = 'completed' THEN 'completed'
                        WHEN v_flow.inventory_watermark IS NOT NULL THEN 'processing'
                        ELSE i.status
                    END,
           processed_records = v_processed,
           failed_records = v_failed,
           updated_at = v_now
     WHERE i.client_account_id = p_client_account_id
       AND i.id = v_flow.data_import_id;
    RETURN v_state;
END
$function$
-- owner discovery_owner acl discovery_owner=X/discovery_owner
CREATE OR REPLACE FUNCTION discovery._tenant_has_assets(p_client_account_id uuid, p_engagement_id uuid)
 RETURNS boolean
 LANGUAGE plpgsql
 STABLE
AS $function$
BEGIN
    RETURN EXISTS (
        SELECT FROM migration.asset_counts AS c
         WHERE c.client_account_id = p_client_account_id
           AND c.engagement_id = p_engagement_id
           AND c.live > 0)
        OR EXISTS (
        SELECT FROM migration.tenants_unverified AS u
         WHERE u.client_account_id = p_client_account_id
           AND u.engagement_id = p_engagement_id);
END
$function$
-- owner discovery_owner acl discovery_owner=X/discovery_owner
CREATE OR REPLACE FUNCTION discovery._tenant_verified(p_client_account_id uuid, p_engagement_id uuid)
 RETURNS boolean
 LANGUAGE plpgsql
 STABLE
AS $function$
BEGIN
    RETURN NOT EXISTS (
        SELECT FROM migration.tenants_unverified AS u
         WHERE u.client_account_id = p_client_account_id
           AND u.engagement_id = p_engagement_id);
END
$function$
-- owner discovery_owner acl discovery_owner=X/discovery_owner
CREATE OR REPLACE FUNCTION discovery._to_gb(p_value text, p_unit text DEFAULT NULL::text)
 RETURNS numeric
 LANGUAGE sql
 IMMUTABLE PARALLEL SAFE
RETURN (SELECT trim_scale(round(((replace(m.m[1], ','::text, ''::text))::numeric * CASE upper(COALESCE(NULLIF(m.m[3], ''::text), _to_gb.p_unit, 'GB'::text)) WHEN 'B'::text THEN (1.0 / (1073741824)::numeric) WHEN 'KB'::text THEN (1.0 / (1048576)::numeric) WHEN 'KIB'::text THEN (1.0 / (1048576)::numeric) WHEN 'MB'::text THEN (1.0 / (1024)::numeric) WHEN 'MIB'::text THEN (1.0 / (1024)::numeric) WHEN 'GB'::text THEN (1)::numeric WHEN 'GIB'::text THEN (1)::numeric WHEN 'TB'::text THEN (1024)::numeric WHEN 'TIB'::text THEN (1024)::numeric WHEN 'PB'::text THEN (1048576)::numeric WHEN 'PIB'::text THEN (1048576)::numeric ELSE NULL::numeric END), 3)) AS trim_scale FROM regexp_match(_to_gb.p_value, '^\s*([0-9]{1,15}(,[0-9]{3})*(?:\.[0-9]+)?|[0-9]*\.[0-9]+)\s*([KMGTP]i?B|B)?\s*$'::text, 'i'::text) m(m))
-- owner discovery_owner acl discovery_owner=X/discovery_owner
CREATE OR REPLACE FUNCTION discovery._trim(p_value text)
 RETURNS text
 LANGUAGE sql
 IMMUTABLE PARALLEL SAFE STRICT
RETURN btrim(p_value, (' 	
\u000d\u000b\u000c\u0085  ᠎       '::text || '    ​‌‍\u2028\u2029  ⁠　﻿'::text))
-- owner discovery_owner acl discovery_owner=X/discovery_owner
CREATE OR REPLACE FUNCTION discovery._undo_import(p_client_account_id uuid, p_engagement_id uuid, p_data_import_id uuid)
 RETURNS jsonb
 LANGUAGE plpgsql
 SET plan_cache_mode TO 'force_custom_plan'
AS $function$
DECLARE
    v_now timestamptz := now();
    v_flow_id uuid;
    v_reverted bigint;
    v_kept bigint;
    v_deleted bigint;
    v_discarded bigint;
    v_closed bigint;
    v_records uuid[];
    v_created uuid[];
BEGIN
    -- Every statement below is driven from these two arrays through indexes
    -- (never a join of the import back to its tables, which stale statistics
    -- turn into a nested loop over the tenant).
    v_records := ARRAY(
        SELECT r.id
          FROM migration.raw_import_records AS r
         WHERE r.client_account_id = p_client_account_id
           AND r.engagement_id = p_engagement_id
           AND r.data_import_id = p_data_import_id
    );
    v_created := ARRAY(
        SELECT a.id
          FROM migration.assets AS a
         WHERE a.raw_import_records_id = ANY (v_records)
           AND a.client_account_id = p_client_account_id
           AND a.engagement_id = p_engagement_id
           AND a.deleted_at IS NULL
    );

    -- Changes: per asset and field, this import's changes since its first
    -- one; revertible when the field still holds the newest one's value and
    -- no other change of it came in between. A change reverted by an earlier
    -- undo and the entry logging that revert (no run, conflict or record:
    -- only this function writes such entries) cancel out: neither counts as
    -- a change in between, so imports undone newest first restore the values
    -- before the oldest.
    EXECUTE format($revert$
        WITH mine AS (
            SELECT c.*
              FROM migration.asset_changes AS c
             WHERE c.raw_import_record_id = ANY ($3)
               AND c.client_account_id = $1
               AND c.engagement_id = $2
               AND c.reverted_at IS NULL
        ),
        per_field AS (
            SELECT m.asset_id, $1::uuid AS dw_client_account_id, m.field,
                   (array_agg(m.old_value ORDER BY m.changed_at, m.id))[1] AS first_old,
                   (array_agg(m.new_value ORDER BY m.changed_at DESC, m.id DESC))[1] AS last_new,
                   min(m.changed_at) AS first_at,
                   array_agg(m.id) AS change_ids
              FROM mine AS m
             GROUP BY m.asset_id, m.field
        ),
        judged AS (
            SELECT p.*,
                   d.current IS NOT DISTINCT FROM p.last_new
                   AND NOT EXISTS (
                       SELECT FROM migration.asset_changes AS o
                        WHERE o.asset_id = p.asset_id
                          AND o.client_account_id OPERATOR(migration.===) $1
                          AND o.field = p.field
                          AND o.changed_at >= p.first_at
                          AND o.id <> ALL (p.change_ids)
                          AND o.reverted_at IS NULL
                          AND num_nonnulls(o.run_id, o.conflict_id, o.raw_import_record_id) > 0) AS revertible
              FROM per_field AS p
              JOIN migration.assets AS a
                ON a.client_account_id = p.dw_client_account_id
               AND a.id = p.asset_id
               AND a.client_account_id OPERATOR(migration.===) $1
             CROSS JOIN LATERAL (
                SELECT CASE
                           WHEN p.field LIKE 'custom\_attributes.%%' THEN a.custom_attributes -> substr(p.field, 19)
                           WHEN p.field LIKE 'external\_ids.%%' THEN a.external_ids -> substr(p.field, 14)
                           ELSE nullif(CASE p.field %s END, 'null'::jsonb)
                       END AS current
             ) AS d
        ),
        changes AS (
            SELECT j.asset_id, j.field, j.last_new AS old_value, coalesce(j.first_old, 'null'::jsonb) AS new_value,
                   NULL::uuid AS raw_import_record_id
              FROM judged AS j
             WHERE j.revertible
        ),
        %s,
        marked AS (
            UPDATE migration.asset_changes AS c
               SET reverted_at = $4
              FROM (SELECT j.dw_client_account_id, u.id
                      FROM judged AS j
                     CROSS JOIN LATERAL unnest(j.change_ids) AS u (id)
                     WHERE j.revertible
                    OFFSET 0) AS x
             WHERE c.client_account_id = x.dw_client_account_id
               AND c.id = x.id
               AND c.client_account_id OPERATOR(migration.===) $1
            RETURNING 1
        )
        SELECT (SELECT count(*) FROM marked),
               (SELECT coalesce(sum(cardinality(j.change_ids)), 0) FROM judged AS j WHERE NOT j.revertible)
          FROM (SELECT count(*) FROM logged) AS written
    $revert$,
        -- the field's column alone (to_jsonb(a) converted the whole asset for each field)
        (SELECT string_agg(format('WHEN %L THEN to_jsonb(a.%I)', c.name, c.name), ' ')
           FROM unnest(discovery._asset_columns()) AS c (name)),
        discovery._apply_changes_sql('$1', '$2', '$4', 'NULL::uuid', 'NULL::uuid'))
    INTO v_reverted, v_kept
    USING p_client_account_id, p_engagement_id, v_records, v_now;

    -- Assets it created that another import's record links: the first such
    -- record becomes their origin.
    WITH rehomed AS (
        SELECT DISTINCT ON (o.asset_id) o.asset_id AS id, o.id AS record_id, f.id AS discovery_flow_id,
               f.master_flow_id
          FROM migration.raw_import_records AS o
          JOIN migration.discovery_flows AS f
            ON f.client_account_id = p_client_account_id
           AND f.data_import_id = o.data_import_id
           AND f.engagement_id = o.engagement_id
         WHERE o.asset_id = ANY (v_created)
           AND o.client_account_id = p_client_account_id
           AND o.data_import_id <> p_data_import_id
         ORDER BY o.asset_id, o.processed_at, o.id
    )
    UPDATE migration.assets AS a
       SET raw_import_records_id = r.record_id,
           discovery_flow_id = r.discovery_flow_id,
           master_flow_id = r.master_flow_id,
           updated_at = v_now
      FROM rehomed AS r
     WHERE a.client_account_id = p_client_account_id
       AND a.id = r.id;

    -- The other assets it created: soft-deleted.
    WITH deleted AS (
        UPDATE migration.assets AS a
           SET deleted_at = v_now,
               updated_at = v_now
         WHERE a.client_account_id = p_client_account_id
           AND a.id = ANY (v_created)
           AND a.raw_import_records_id = ANY (v_records)
        RETURNING 1
    )
    SELECT count(*) INTO v_deleted FROM deleted;

    WITH discarded AS (
        UPDATE migration.raw_import_records AS r
           SET processing_notes = 'discarded by undo_import'
                                  || CASE WHEN r.processing_status IS NULL THEN ''
                                          ELSE ' (was ' || r.processing_status
                                               || CASE WHEN r.asset_id IS NULL THEN ''
                                                       ELSE ', asset ' || r.asset_id::text END
                                               || ')' END,
               asset_id = NULL,
               is_processed = TRUE,
               processed_at = v_now,
               processing_status = 'discarded'
         WHERE r.data_import_id = p_data_import_id
           AND r.client_account_id = p_client_account_id
        RETURNING 1
    )
    SELECT count(*) INTO v_discarded FROM discarded;

    SELECT f.id INTO v_flow_id
      FROM migration.discovery_flows AS f
     WHERE f.client_account_id = p_client_account_id
       AND f.engagement_id = p_engagement_id
       AND f.data_import_id = p_data_import_id;
    WITH closed AS (
        UPDATE migration.asset_conflict_resolutions AS c
           SET resolution_status = 'resolved',
               resolution_note = 'closed by undo_import',
               resolved_at = v_now
         WHERE c.client_account_id = p_client_account_id
           AND c.discovery_flow_id = v_flow_id
           AND c.resolution_status = 'pending'
        RETURNING 1
    )
    SELECT count(*) INTO v_closed FROM closed;

    UPDATE migration.data_imports AS i
       SET status = 'undone',
           updated_at = v_now
     WHERE i.client_account_id = p_client_account_id
       AND i.id = p_data_import_id;
    IF v_flow_id IS NOT NULL THEN
        PERFORM discovery._sync_flow_state(p_client_account_id, p_engagement_id, v_flow_id);
    END IF;

    RETURN jsonb_build_object('assets_deleted', v_deleted, 'changes_reverted', v_reverted, 'changes_kept', v_kept,
                              'records_discarded', v_discarded, 'conflicts_closed', v_closed);
END
$function$
-- owner discovery_owner acl discovery_owner=X/discovery_owner
CREATE OR REPLACE FUNCTION discovery._verify_tenant(p_client_account_id uuid, p_engagement_id uuid)
 RETURNS boolean
 LANGUAGE plpgsql
AS $function$
BEGIN
    DELETE FROM migration.asset_counts AS c
     WHERE c.client_account_id = p_client_account_id
       AND c.engagement_id = p_engagement_id;
    INSERT INTO migration.asset_counts (
        client_account_id, engagement_id, discovery_flow_id, asset_type_key, status_key, live
    )
    SELECT a.client_account_id, a.engagement_id,
           coalesce(a.discovery_flow_id, '00000000-0000-0000-0000-000000000000'::uuid),
           left(coalesce(a.asset_type, ''), 200), left(a.status, 200), count(*)
      FROM migration.assets AS a
     WHERE a.client_account_id = p_client_account_id
       AND a.engagement_id = p_engagement_id
       AND a.deleted_at IS NULL
     GROUP BY 1, 2, 3, 4, 5;

    DELETE FROM migration.record_counts AS c
     WHERE c.client_account_id = p_client_account_id
       AND c.engagement_id = p_engagement_id;
    INSERT INTO migration.record_counts (
        client_account_id, engagement_id, data_import_id, outcome, with_warnings, records
    )
    SELECT r.client_account_id, r.engagement_id, r.data_import_id,
           migration.record_outcome(r.processing_status, r.is_processed),
           migration.has_warnings(r.validation_errors), count(*)
      FROM migration.raw_import_records AS r
     WHERE r.client_account_id = p_client_account_id
       AND r.engagement_id = p_engagement_id
     GROUP BY 1, 2, 3, 4, 5;

    IF EXISTS (SELECT FROM discovery._wiring_gaps(p_client_account_id, p_engagement_id, TRUE) AS g
                WHERE g.gap <> 'raw_records_pending') THEN
        RETURN FALSE;
    END IF;
    DELETE FROM migration.tenants_unverified AS u
     WHERE u.client_account_id = p_client_account_id
       AND u.engagement_id = p_engagement_id;
    RETURN TRUE;
END
$function$
-- owner discovery_owner acl discovery_owner=X/discovery_owner
CREATE OR REPLACE FUNCTION discovery._wiring_gaps(p_client_account_id uuid, p_engagement_id uuid, p_full boolean)
 RETURNS TABLE(gap text, object_id uuid)
 LANGUAGE plpgsql
 STABLE
AS $function$
BEGIN
    RETURN QUERY EXECUTE format($gaps$
        WITH flows AS MATERIALIZED (
            -- the row a flow's runs covered (all rows for a legacy flow that ran before runs recorded it)
            SELECT f.client_account_id, f.id, f.data_import_id,
                   coalesce(f.inventory_watermark,
                            CASE WHEN EXISTS (SELECT FROM migration.asset_inventory_runs AS run
                                               WHERE run.client_account_id = $1
                                                 AND run.discovery_flow_id = f.id)
                                 THEN 2147483647 END) AS watermark
              FROM migration.discovery_flows AS f
             WHERE f.client_account_id = $1
               AND f.engagement_id = $2
               AND f.data_import_id IS NOT NULL
        ),
        live_assets AS MATERIALIZED (
            SELECT a.id, a.discovery_method, a.discovery_flow_id, a.master_flow_id, a.flow_id,
                   a.raw_import_records_id,
                   (SELECT f.master_flow_id
                      FROM migration.discovery_flows AS f
                     WHERE f.client_account_id = $1
                       AND f.engagement_id = $2
                       AND f.id = a.discovery_flow_id) AS flow_master_flow_id,
                   (SELECT TRUE
                      FROM migration.discovery_flows AS f
                     WHERE f.client_account_id = $1
                       AND f.engagement_id = $2
                       AND f.id = a.discovery_flow_id) AS flow_found,
                   (SELECT r.asset_id IS DISTINCT FROM a.id
                      FROM migration.raw_import_records AS r
                     WHERE r.client_account_id = $1
                       AND r.engagement_id = $2
                       AND r.id = a.raw_import_records_id) AS raw_disagrees
              FROM migration.assets AS a
             WHERE a.client_account_id = $1
               AND a.engagement_id = $2
               AND a.deleted_at IS NULL
               %1$s
        ),
        tenant_raw AS MATERIALIZED (
            SELECT r.id, r.asset_id, r.is_processed, r.processing_status,
                   (SELECT TRUE
                      FROM migration.assets AS a
                     WHERE a.client_account_id = $1
                       AND a.engagement_id = $2
                       AND a.id = r.asset_id) AS asset_found
              FROM migration.raw_import_records AS r
             WHERE r.client_account_id = $1
               AND r.engagement_id = $2
               %2$s
        ),
        unprocessed AS MATERIALIZED (
            %3$s
        )
        SELECT 'assets_missing_discovery_flow_id', a.id
          FROM live_assets AS a
         WHERE a.discovery_method = 'flow_based' AND a.discovery_flow_id IS NULL
        UNION ALL
        SELECT 'assets_with_unknown_discovery_flow_id', a.id
          FROM live_assets AS a
         WHERE a.discovery_flow_id IS NOT NULL AND a.flow_found IS NULL
        UNION ALL
        SELECT 'assets_with_mismatched_master_flow_id', a.id
          FROM live_assets AS a
         WHERE a.flow_found AND a.master_flow_id IS DISTINCT FROM a.flow_master_flow_id
        UNION ALL
        SELECT 'assets_missing_raw_import_id', a.id
          FROM live_assets AS a
         WHERE a.discovery_method = 'flow_based' AND a.raw_import_records_id IS NULL
        UNION ALL
        SELECT 'assets_with_orphan_raw_ref', a.id
          FROM live_assets AS a
         WHERE a.raw_import_records_id IS NOT NULL AND a.raw_disagrees IS NULL
        UNION ALL
        SELECT 'links_disagree', a.id
          FROM live_assets AS a
         WHERE a.raw_disagrees
        UNION ALL
        SELECT 'raw_records_missing_asset_id', u.id
          FROM unprocessed AS u
         WHERE u.left_behind
        UNION ALL
        SELECT 'processed_records_missing_asset_id', r.id
          FROM tenant_raw AS r
         WHERE r.asset_id IS NULL
           AND r.is_processed
           AND r.processing_status IS DISTINCT FROM 'invalid'
           AND r.processing_status IS DISTINCT FROM 'conflict'
           AND r.processing_status IS DISTINCT FROM 'discarded'
        UNION ALL
        SELECT 'raw_with_orphan_asset_ref', r.id
          FROM tenant_raw AS r
         WHERE r.asset_id IS NOT NULL AND r.asset_found IS NULL
        UNION ALL
        SELECT 'assets_with_legacy_flow_id_only', a.id
          FROM live_assets AS a
         WHERE a.flow_id IS NOT NULL AND a.discovery_flow_id IS NULL
        UNION ALL
        SELECT 'raw_records_pending', u.id
          FROM unprocessed AS u
         WHERE u.left_behind IS NOT TRUE
    $gaps$,
        CASE WHEN p_full THEN '' ELSE
            'AND ((a.discovery_method = ''flow_based'' AND (a.discovery_flow_id IS NULL OR a.master_flow_id IS NULL '
            'OR a.raw_import_records_id IS NULL)) OR (a.discovery_flow_id IS NOT NULL AND a.master_flow_id IS NULL) '
            'OR (a.flow_id IS NOT NULL AND a.discovery_flow_id IS NULL) '
            'OR (a.raw_import_records_id IS NOT NULL AND a.discovery_method IS DISTINCT FROM ''flow_based''))' END,
        CASE WHEN p_full THEN '' ELSE
            'AND r.asset_id IS NULL AND r.is_processed AND (r.processing_status IS NULL '
            'OR r.processing_status NOT IN (''invalid'', ''conflict'', ''discarded''))' END,
        CASE WHEN p_full THEN
            'SELECT r.id, r.row_number <= (SELECT max(f.watermark) FROM flows AS f '
            'WHERE f.data_import_id = r.data_import_id) AS left_behind '
            'FROM migration.raw_import_records AS r '
            'WHERE r.client_account_id = $1 AND r.engagement_id = $2 AND NOT r.is_processed'
        ELSE
            'SELECT r.id, TRUE AS left_behind FROM migration.raw_import_records AS r '
            'WHERE r.data_import_id = ANY (ARRAY(SELECT f.data_import_id FROM flows AS f '
            'WHERE f.watermark IS NOT NULL AND EXISTS (SELECT FROM migration.record_counts AS c '
            'WHERE c.client_account_id = $1 AND c.engagement_id = $2 AND c.data_import_id = f.data_import_id '
            'AND c.outcome = ''pending'' AND c.records > 0))) AND NOT r.is_processed '
            'AND r.client_account_id OPERATOR(migration.===) $1 '
            'AND r.row_number <= (SELECT max(f.watermark) FROM flows AS f '
            'WHERE f.data_import_id = r.data_import_id AND f.client_account_id = r.client_account_id)'
        END)
    USING p_client_account_id, p_engagement_id;
END
$function$
-- owner discovery_owner acl discovery_owner=X/discovery_owner
CREATE OR REPLACE FUNCTION discovery.add_raw_records(p_client_account_id uuid, p_engagement_id uuid, p_data_import_id uuid, p_records jsonb)
 RETURNS integer
 LANGUAGE plpgsql
 SECURITY DEFINER
 SET search_path TO 'pg_catalog', 'pg_temp'
 SET jit TO 'off'
AS $function$
BEGIN
    PERFORM discovery._assert_tenant(p_client_account_id, p_engagement_id);
    PERFORM discovery._data_import(p_client_account_id, p_engagement_id, p_data_import_id);
    PERFORM discovery._assert_payload(p_records, 'p_records');
    RETURN discovery._insert_raw_records(
        p_client_account_id, p_engagement_id, p_data_import_id,
        ARRAY(SELECT e.value FROM jsonb_array_elements(p_records) WITH ORDINALITY AS e (value, ordinality)
               ORDER BY e.ordinality));
END
$function$
-- owner discovery_owner acl discovery_app=X/discovery_owner discovery_owner=X/discovery_owner
CREATE OR REPLACE FUNCTION discovery.add_raw_records_bulk(p_client_account_id uuid, p_engagement_id uuid, p_data_import_id uuid, p_records jsonb[])
 RETURNS integer
 LANGUAGE plpgsql
 SECURITY DEFINER
 SET search_path TO 'pg_catalog', 'pg_temp'
 SET jit TO 'off'
AS $function$
DECLARE
    v_bad bigint;
BEGIN
    PERFORM discovery._assert_tenant(p_client_account_id, p_engagement_id);
    PERFORM discovery._data_import(p_client_account_id, p_engagement_id, p_data_import_id);
    IF p_records IS NULL THEN
        PERFORM discovery._raise('WR005', 'p_records must be an array', 'p_records is null',
                                 'Pass an array of JSON objects, one per row.');
    END IF;
    IF cardinality(p_records) > 50000 THEN
        PERFORM discovery._raise(
            'WR005', 'p_records holds more than 50,000 elements',
            format('p_records has %s elements', cardinality(p_records)),
            'Split the work into several calls of at most 50,000 elements (the Python client does).');
    END IF;
    SELECT e.ordinality INTO v_bad
      FROM unnest(p_records) WITH ORDINALITY AS e (value, ordinality)
     WHERE e.value IS NULL OR jsonb_typeof(e.value) <> 'object'
     ORDER BY e.ordinality
     LIMIT 1;
    IF FOUND THEN
        PERFORM discovery._raise(
            'WR005', 'p_records must hold only JSON objects',
            format('element %s of p_records is %s', v_bad, coalesce(jsonb_typeof(p_records[v_bad]), 'null')),
            'Make every element a JSON object.');
    END IF;
    RETURN discovery._insert_raw_records(p_client_account_id, p_engagement_id, p_data_import_id, p_records);
END
$function$
-- owner discovery_owner acl discovery_app=X/discovery_owner discovery_owner=X/discovery_owner
CREATE OR REPLACE FUNCTION discovery.cleanse_records(p_client_account_id uuid, p_engagement_id uuid, p_discovery_flow_id uuid)
 RETURNS TABLE(cleansed integer, invalid integer)
 LANGUAGE plpgsql
 SECURITY DEFINER
 SET search_path TO 'pg_catalog', 'pg_temp'
 SET jit TO 'off'
AS $function$
#variable_conflict use_column
DECLARE
    v_flow migration.discovery_flows;
    v_import migration.data_imports;
    v_keys text[];
    v_valid integer;
    v_invalid integer;
BEGIN
    PERFORM discovery._assert_tenant(p_client_account_id, p_engagement_id);
    v_flow := discovery._discovery_flow(p_client_account_id, p_engagement_id, p_discovery_flow_id);
    v_import := discovery._data_import(p_client_account_id, p_engagement_id, v_flow.data_import_id);

    v_keys := discovery._raw_data_keys(p_client_account_id, v_flow.data_import_id, FALSE);

    -- The import's unprocessed records are read from the partial index of
    -- unprocessed records (the tenant pinned by migration.===, which no index
    -- takes and no statistics estimate, migration 0006: with
    -- the tenant as an index condition the import's processed records were
    -- walked too, on every call). They are found again by their primary key
    -- from the batch's own column dw_tenant, not from the constant $1: given
    -- the constant, a planner whose statistics do not know the tenant yet (a
    -- new tenant or import, no ANALYZE since) may scan the tenant's rows once
    -- per record (quadratic: 109 s for 20,000 records beside a 100,000-record
    -- import). From the batch's column it can only probe the primary key per
    -- record, or hash the table, both linear. The pin on the constant only
    -- lets Citus route the statement to the tenant's shard.
    EXECUTE format($cleanse$
        WITH c AS MATERIALIZED (%s),
        result AS (
            UPDATE migration.raw_import_records AS r
               SET cleansed_data = c.fields,
                   validation_errors = c.problems,
                   is_valid = NOT c.problems @> '[{"severity": "error"}]'
              FROM c
             WHERE r.client_account_id = c.dw_tenant
               AND r.id = c.id
               AND r.client_account_id OPERATOR(migration.===) $1
            RETURNING r.is_valid
        )
        SELECT (count(*) FILTER (WHERE result.is_valid))::integer,
               (count(*) FILTER (WHERE NOT result.is_valid))::integer
          FROM result
    $cleanse$, discovery._cleansing_sql(
        discovery._mapping_rules(p_client_account_id, v_flow.data_import_id), coalesce(v_keys, '{}'),
        v_import.field_defaults,
        'SELECT r.client_account_id AS dw_tenant, r.id, '
        'CASE WHEN jsonb_typeof(r.raw_data) = ''object'' THEN r.raw_data ELSE ''{}''::jsonb END '
        'AS data FROM migration.raw_import_records AS r WHERE r.data_import_id = $2 AND NOT r.is_processed '
        'AND r.client_account_id OPERATOR(migration.===) $1'))
    INTO v_valid, v_invalid
    USING p_client_account_id, v_flow.data_import_id;

    UPDATE migration.discovery_flows AS f
       SET data_cleansing_completed = TRUE,
           current_phase = CASE WHEN f.current_phase IN ('data_import', 'field_mapping', 'data_cleansing')
                                THEN 'asset_inventory' ELSE f.current_phase END,
           updated_at = now()
     WHERE f.client_account_id = p_client_account_id
       AND f.id = v_flow.id;

    RETURN QUERY SELECT v_valid, v_invalid;
END
$function$
-- owner discovery_owner acl discovery_app=X/discovery_owner discovery_owner=X/discovery_owner
CREATE OR REPLACE FUNCTION discovery.create_assets_from_discovery(p_client_account_id uuid, p_engagement_id uuid, p_discovery_flow_id uuid, p_assets jsonb DEFAULT NULL::jsonb, p_dry_run boolean DEFAULT false, p_on_match text DEFAULT 'refresh'::text)
 RETURNS TABLE(run_id uuid, created integer, matched integer, conflicts integer, invalid integer, already_linked integer, updated integer)
 LANGUAGE plpgsql
 SECURITY DEFINER
 SET search_path TO 'pg_catalog', 'pg_temp'
 SET jit TO 'off'
AS $function$
#variable_conflict use_column
DECLARE
    v_started timestamptz := clock_timestamp();
    v_now timestamptz := now();
    v_flow migration.discovery_flows;
    v_import migration.data_imports;
    v_run_id uuid;
    v_created integer;
    v_matched integer;
    v_conflicts integer;
    v_invalid integer;
    v_already_linked integer;
    v_updated integer;
    v_finished timestamptz;
    v_plan_sql text;
BEGIN
    -- validate
    PERFORM discovery._assert_tenant(p_client_account_id, p_engagement_id);
    v_flow := discovery._discovery_flow(p_client_account_id, p_engagement_id, p_discovery_flow_id);
    v_import := discovery._data_import(p_client_account_id, p_engagement_id, v_flow.data_import_id);
    PERFORM discovery._assert_flag(p_dry_run, 'p_dry_run');
    IF p_on_match IS NULL OR p_on_match NOT IN ('refresh', 'fill_empty', 'keep') THEN
        PERFORM discovery._raise(
            'WR006', 'unknown reconciliation policy', format('p_on_match=%L', p_on_match),
            'Use refresh (the default: write every newer value), fill_empty (only empty fields) or keep.');
    END IF;
    IF v_import.status = 'undone' THEN
        PERFORM discovery._raise(
            'WR008', 'the import was undone', format('data_import_id=%s discovery_flow_id=%s', v_import.id, v_flow.id),
            'An undone import stays undone; import the file again (a new import and flow).');
    END IF;
    IF p_assets IS NOT NULL THEN
        PERFORM discovery._assert_supplied_assets(p_client_account_id, p_engagement_id, v_flow.id, v_flow.data_import_id,
                                                  p_assets);
    END IF;

    IF NOT p_dry_run THEN
        -- Every writer of the tenant's assets queues here (see _lock_tenant_assets).
        PERFORM discovery._lock_tenant_assets(p_client_account_id, p_engagement_id);
    END IF;
    IF p_assets IS NULL AND NOT EXISTS (
        SELECT FROM migration.raw_import_records AS r  -- by the unprocessed index (see _sync_flow_state)
         WHERE r.data_import_id = v_flow.data_import_id
           AND NOT r.is_processed
           AND r.client_account_id OPERATOR(migration.===) p_client_account_id) THEN
        RETURN QUERY SELECT NULL::uuid, 0, 0, 0, 0, 0, 0;  -- nothing to handle: write nothing
        RETURN;
    END IF;

    v_plan_sql := discovery._plan_and_changes_sql(discovery._plan_sql(
        p_client_account_id, p_engagement_id, v_flow.data_import_id, p_assets,
        discovery._tenant_has_assets(p_client_account_id, p_engagement_id)));

    IF p_dry_run THEN
        EXECUTE format($dry$%s
            SELECT NULL::uuid AS run_id,
                   (count(*) FILTER (WHERE p.outcome = 'created'))::integer AS created,
                   (count(*) FILTER (WHERE p.outcome = 'matched'))::integer AS matched,
                   (count(*) FILTER (WHERE p.outcome = 'conflict'))::integer AS conflicts,
                   (count(*) FILTER (WHERE p.outcome = 'invalid'))::integer AS invalid,
                   (count(*) FILTER (WHERE p.outcome = 'already_linked'))::integer AS already_linked,
                   (SELECT count(DISTINCT c.asset_id) FROM changes AS c)::integer AS updated
              FROM plan AS p
        $dry$, v_plan_sql)
        INTO v_run_id, v_created, v_matched, v_conflicts, v_invalid, v_already_linked, v_updated
        USING p_client_account_id, p_engagement_id, v_flow.id, v_flow.data_import_id, p_assets, p_on_match;
        RETURN QUERY SELECT v_run_id, v_created, v_matched, v_conflicts, v_invalid, v_already_linked, v_updated;
        RETURN;
    END IF;

    -- plan, write and record, in one statement (the run first: on Citus the
    -- planner runs each writing CTE as a statement of its own, in this order,
    -- and the changes logged name the run)
    EXECUTE format($write$%s,
        run AS (
            INSERT INTO migration.asset_inventory_runs (
                client_account_id, engagement_id, id, discovery_flow_id, mode, on_match, started_at, finished_at,
                records_handled, created, matched, conflicts, invalid, already_linked, updated
            )
            SELECT $1, $2, $11, $3, CASE WHEN $5 IS NULL THEN 'derived' ELSE 'supplied' END, $6, $12, $12,
                   count(*) FILTER (WHERE p.handles),
                   count(*) FILTER (WHERE p.outcome = 'created'),
                   count(*) FILTER (WHERE p.outcome = 'matched'),
                   count(*) FILTER (WHERE p.outcome = 'conflict'),
                   count(*) FILTER (WHERE p.outcome = 'invalid'),
                   count(*) FILTER (WHERE p.outcome = 'already_linked'),
                   (SELECT count(DISTINCT c.asset_id) FROM changes AS c)
              FROM plan AS p
            HAVING count(*) FILTER (WHERE p.handles) > 0
            RETURNING id
        ),
%2$s,
        new_assets AS (
            INSERT INTO migration.assets %3$s
            RETURNING 1
        ),
        handled AS (
            UPDATE migration.raw_import_records AS r
               SET asset_id = CASE WHEN p.outcome IN ('created', 'matched') THEN p.asset_id ELSE r.asset_id END,
                   cleansed_data = CASE WHEN p.cleansed_now THEN p.fields ELSE r.cleansed_data END,
                   validation_errors = CASE WHEN p.cleansed_now THEN p.problems ELSE r.validation_errors END,
                   is_valid = p.valid,
                   is_processed = TRUE,
                   processed_at = $7,
                   processing_status = CASE WHEN p.outcome = 'already_linked'
                                            THEN coalesce(r.processing_status, 'matched') ELSE p.outcome END,
                   processing_notes = p.notes,
                   master_flow_id = $8
              FROM plan AS p
             WHERE r.client_account_id = p.dw_client_account_id
               AND r.id = p.raw_import_record_id
               AND r.client_account_id OPERATOR(migration.===) $1
               AND p.handles
            RETURNING 1
        ),
        new_conflicts AS (
            INSERT INTO migration.asset_conflict_resolutions (
                client_account_id, engagement_id, discovery_flow_id, raw_import_record_id,
                existing_asset_id, candidate_asset_ids, conflict_type, conflict_key, new_asset_data, created_at
            )
            SELECT $1, $2, $3, p.raw_import_record_id, p.existing_asset_id, p.candidate_asset_ids,
                   'ambiguous_identity', p.conflict_key, p.fields, $7
              FROM plan AS p
             WHERE p.outcome = 'conflict'
            ON CONFLICT (raw_import_record_id, client_account_id) WHERE resolution_status = 'pending'
            DO NOTHING
            RETURNING 1
        )
        SELECT (SELECT r.id FROM run AS r) AS run_id,
               (count(*) FILTER (WHERE p.outcome = 'created'))::integer AS created,
               (count(*) FILTER (WHERE p.outcome = 'matched'))::integer AS matched,
               (count(*) FILTER (WHERE p.outcome = 'conflict'))::integer AS conflicts,
               (count(*) FILTER (WHERE p.outcome = 'invalid'))::integer AS invalid,
               (count(*) FILTER (WHERE p.outcome = 'already_linked'))::integer AS already_linked,
               (SELECT count(DISTINCT c.asset_id) FROM changes AS c)::integer AS updated
          FROM plan AS p
    $write$, v_plan_sql, discovery._apply_changes_sql('$1', '$2', '$7', '$11', 'NULL::uuid'),
        discovery._asset_values_sql('p.fields', jsonb_build_object(
            'client_account_id', '$1', 'engagement_id', '$2', 'id', 'p.asset_id', 'discovery_flow_id', '$3',
            'master_flow_id', '$8', 'raw_import_records_id', 'p.raw_import_record_id', 'field_mappings_used', '$9',
            'discovery_method', '''flow_based''', 'discovery_source', 'coalesce(p.fields ->> ''discovery_source'', $10)',
            'created_at', '$7', 'updated_at', '$7'), 'plan AS p WHERE p.outcome = ''created'''))
    INTO v_run_id, v_created, v_matched, v_conflicts, v_invalid, v_already_linked, v_updated
    USING p_client_account_id, p_engagement_id, v_flow.id, v_flow.data_import_id, p_assets, p_on_match, v_now,
          v_flow.master_flow_id, discovery._approved_mappings(p_client_account_id, v_flow.data_import_id),
          coalesce(v_import.source_system, v_import.import_type), gen_random_uuid(), v_started;

    -- A planner that still believes the assets table nearly empty would pick
    -- nested loops over it in later queries of this tenant (health marts,
    -- analysts' queries) until autovacuum came by: refresh its statistics
    -- after a big write (discovery._refresh_statistics never waits for
    -- another caller's ANALYZE).
    IF v_created >= 1000 AND v_created > (
        SELECT c.reltuples FROM pg_catalog.pg_class AS c WHERE c.oid = 'migration.assets'::regclass) / 2 THEN
        PERFORM discovery._refresh_statistics('migration.assets');
    END IF;

    IF v_run_id IS NOT NULL THEN
        v_finished := clock_timestamp();
        UPDATE migration.asset_inventory_runs AS r
           SET finished_at = v_finished
         WHERE r.client_account_id = p_client_account_id
           AND r.id = v_run_id;
        UPDATE migration.discovery_flows AS f
           SET inventory_watermark = greatest(f.inventory_watermark, (
                   SELECT max(r.row_number)
                     FROM migration.raw_import_records AS r
                    WHERE r.data_import_id = v_flow.data_import_id
                      AND r.client_account_id = p_client_account_id))
         WHERE f.client_account_id = p_client_account_id
           AND f.id = v_flow.id;
        PERFORM discovery._sync_flow_state(p_client_account_id, p_engagement_id, v_flow.id);
    END IF;
    -- On Citus the wiring noted by the assets' statement and wired by the raw
    -- records' is checked now rather than at COMMIT (migration 0010).
    PERFORM migration.check_settled_wiring(p_client_account_id);

    RETURN QUERY SELECT v_run_id, v_created, v_matched, v_conflicts, v_invalid, v_already_linked, v_updated;
END
$function$
-- owner discovery_owner acl discovery_app=X/discovery_owner discovery_owner=X/discovery_owner
CREATE OR REPLACE FUNCTION discovery.create_data_import(p_client_account_id uuid, p_engagement_id uuid, p_import_name text, p_import_type text, p_filename text, p_imported_by uuid DEFAULT NULL::uuid, p_source_system text DEFAULT NULL::text)
 RETURNS uuid
 LANGUAGE plpgsql
 SECURITY DEFINER
 SET search_path TO 'pg_catalog', 'pg_temp'
 SET jit TO 'off'
AS $function$
DECLARE
    v_id uuid;
BEGIN
    PERFORM discovery._assert_tenant(p_client_account_id, p_engagement_id);
    IF nullif(btrim(p_import_name), '') IS NULL OR nullif(btrim(p_import_type), '') IS NULL THEN
        PERFORM discovery._raise(
            'WR006', 'import name and import type are required',
            format('import_name=%L import_type=%L', p_import_name, p_import_type),
            'Pass a non-empty p_import_name and p_import_type (for instance ''cmdb'').');
    END IF;
    INSERT INTO migration.data_imports (
        client_account_id, engagement_id, import_name, import_type, filename,
        imported_by, source_system
    )
    VALUES (
        p_client_account_id, p_engagement_id, btrim(p_import_name), btrim(p_import_type),
        p_filename, p_imported_by, p_source_system
    )
    RETURNING id INTO v_id;
    RETURN v_id;
END
$function$
-- owner discovery_owner acl discovery_app=X/discovery_owner discovery_owner=X/discovery_owner
CREATE OR REPLACE FUNCTION discovery.get_asset(p_client_account_id uuid, p_engagement_id uuid, p_asset_id uuid)
 RETURNS jsonb
 LANGUAGE plpgsql
 STABLE SECURITY DEFINER
 SET search_path TO 'pg_catalog', 'pg_temp'
 SET jit TO 'off'
AS $function$
DECLARE
    c_cap CONSTANT integer := 500;
    v_asset jsonb;
    v_lineage jsonb;
    v_records jsonb;
    v_changes jsonb;
BEGIN
    PERFORM discovery._assert_tenant(p_client_account_id, p_engagement_id);
    SELECT to_jsonb(a) - ARRAY['client_account_id', 'engagement_id'],
           jsonb_build_object('raw_import_record_id', a.raw_import_records_id, 'data_import_id', r.data_import_id,
                              'row_number', r.row_number, 'discovery_flow_id', a.discovery_flow_id,
                              'master_flow_id', a.master_flow_id, 'import_name', i.import_name,
                              'filename', i.filename)
      INTO v_asset, v_lineage
      FROM migration.assets AS a
      LEFT JOIN migration.raw_import_records AS r
        ON r.client_account_id = a.client_account_id
       AND r.id = a.raw_import_records_id
      LEFT JOIN migration.data_imports AS i
        ON i.client_account_id = r.client_account_id
       AND i.id = r.data_import_id
     WHERE a.client_account_id = p_client_account_id
       AND a.engagement_id = p_engagement_id
       AND a.id = p_asset_id;
    IF v_asset IS NULL THEN
        PERFORM discovery._raise(
            'WR009', 'asset not found in this tenant',
            format('asset_id=%s client_account_id=%s engagement_id=%s', p_asset_id, p_client_account_id,
                   p_engagement_id),
            'discovery.list_assets lists the tenant''s assets.');
    END IF;

    -- The asset's records and changes come from the indexes led by asset_id;
    -- the tenant is pinned (migration.===, migration 0006: never an index
    -- condition, never estimated from statistics): given the tenant as an index
    -- condition, a planner whose statistics do not know the tenant chose the
    -- tenant's listing index and read the whole tenant per call (25 ms at
    -- 100,000 records).
    SELECT coalesce(jsonb_agg(x.record ORDER BY x.processed_at, x.id), '[]'::jsonb) INTO v_records
      FROM (SELECT r.id, r.processed_at,
                   jsonb_build_object('id', r.id, 'data_import_id', r.data_import_id, 'row_number', r.row_number,
                                      'processing_status', r.processing_status, 'processed_at', r.processed_at,
                                      'processing_notes', r.processing_notes) AS record
              FROM migration.raw_import_records AS r
             WHERE r.asset_id = p_asset_id
               AND r.client_account_id OPERATOR(migration.===) p_client_account_id
             ORDER BY r.processed_at, r.id
             LIMIT c_cap + 1) AS x;

    SELECT coalesce(jsonb_agg(x.change ORDER BY x.changed_at DESC, x.id DESC), '[]'::jsonb) INTO v_changes
      FROM (SELECT c.id, c.changed_at,
                   to_jsonb(c) - ARRAY['client_account_id', 'engagement_id', 'asset_id'] AS change
              FROM migration.asset_changes AS c
             WHERE c.asset_id = p_asset_id
               AND c.client_account_id OPERATOR(migration.===) p_client_account_id
             ORDER BY c.changed_at DESC, c.id DESC
             LIMIT c_cap + 1) AS x;

    RETURN jsonb_build_object(
        'asset', v_asset,
        'lineage', v_lineage,
        'records', (SELECT coalesce(jsonb_agg(e.value ORDER BY e.ordinality), '[]'::jsonb)
                      FROM jsonb_array_elements(v_records) WITH ORDINALITY AS e (value, ordinality)
                     WHERE e.ordinality <= c_cap),
        'records_truncated', jsonb_array_length(v_records) > c_cap,
        'changes', (SELECT coalesce(jsonb_agg(e.value ORDER BY e.ordinality), '[]'::jsonb)
                      FROM jsonb_array_elements(v_changes) WITH ORDINALITY AS e (value, ordinality)
                     WHERE e.ordinality <= c_cap),
        'changes_truncated', jsonb_array_length(v_changes) > c_cap);
END
$function$
-- owner discovery_owner acl discovery_app=X/discovery_owner discovery_owner=X/discovery_owner
CREATE OR REPLACE FUNCTION discovery.list_assets(p_client_account_id uuid, p_engagement_id uuid, p_flow_id uuid DEFAULT NULL::uuid, p_page integer DEFAULT 1, p_page_size integer DEFAULT 50, p_asset_type text DEFAULT NULL::text, p_status text DEFAULT NULL::text)
 RETURNS jsonb
 LANGUAGE plpgsql
 STABLE SECURITY DEFINER
 SET search_path TO 'pg_catalog', 'pg_temp'
 SET jit TO 'off'
AS $function$
DECLARE
    v_page_size integer := discovery._page_size(p_page, p_page_size);
    v_discovery_flow_id uuid;
    v_total bigint;
    v_assets jsonb;
BEGIN
    PERFORM discovery._assert_tenant(p_client_account_id, p_engagement_id);
    IF p_flow_id IS NOT NULL THEN
        SELECT f.discovery_flow_id INTO v_discovery_flow_id
          FROM discovery.resolve_flow(p_client_account_id, p_engagement_id, p_flow_id) AS f;
    END IF;

    IF discovery._tenant_verified(p_client_account_id, p_engagement_id) THEN
        SELECT coalesce(sum(c.live), 0) INTO v_total
          FROM migration.asset_counts AS c
         WHERE c.client_account_id = p_client_account_id
           AND c.engagement_id = p_engagement_id
           AND (v_discovery_flow_id IS NULL OR c.discovery_flow_id = v_discovery_flow_id)
           AND (p_asset_type IS NULL OR c.asset_type_key = left(p_asset_type, 200))
           AND (p_status IS NULL OR c.status_key = left(p_status, 200));
    ELSE
        SELECT count(*) INTO v_total
          FROM migration.assets AS a
         WHERE a.client_account_id = p_client_account_id
           AND a.engagement_id = p_engagement_id
           AND a.deleted_at IS NULL
           AND (v_discovery_flow_id IS NULL OR a.discovery_flow_id = v_discovery_flow_id)
           AND (p_asset_type IS NULL OR a.asset_type = p_asset_type)
           AND (p_status IS NULL OR a.status = p_status);
    END IF;

    -- The page's rows are found in an index that is already in page order
    -- (the tenant's listing index, the tenant taken from a row so that the
    -- planner does not estimate a tenant it does not know yet at one row and
    -- sort the whole tenant's primary-key walk instead: 94-200 ms for a tenant
    -- of 86,814 assets among 1.1 million; or the flow's index with the tenant pinned
    -- and the engagement compared after, neither an index condition, so that
    -- the listing index cannot be taken for a flow's page and walked past
    -- other flows' assets: 105 ms instead of 0.1 ms for a flow of 86,814
    -- assets whose tenant the statistics did not know yet), as IDs alone: of the two
    -- branches, the one-time filter on v_discovery_flow_id runs one. Only the
    -- page's rows are then read whole (by primary key) and turned into JSON.
    SELECT coalesce(jsonb_agg(to_jsonb(a) - ARRAY['client_account_id', 'engagement_id', 'flow_id', 'deleted_at']
                              ORDER BY page.created_at DESC, page.id DESC), '[]'::jsonb)
      INTO v_assets
      FROM (
        (SELECT x.client_account_id, x.id, x.created_at
           FROM (SELECT p_client_account_id AS client_account_id, p_engagement_id AS engagement_id OFFSET 0) AS t
          CROSS JOIN LATERAL (
                SELECT x.client_account_id, x.id, x.created_at
                  FROM migration.assets AS x
                 WHERE v_discovery_flow_id IS NULL
                   AND x.client_account_id = t.client_account_id
                   AND x.engagement_id = t.engagement_id
                   AND x.client_account_id OPERATOR(migration.===) p_client_account_id
                   AND x.deleted_at IS NULL
                   AND (p_asset_type IS NULL OR x.asset_type = p_asset_type)
                   AND (p_status IS NULL OR x.status = p_status)
                 ORDER BY x.created_at DESC, x.id DESC
                 LIMIT v_page_size
                OFFSET (p_page::bigint - 1) * v_page_size) AS x)
        UNION ALL
        (SELECT x.client_account_id, x.id, x.created_at
           FROM migration.assets AS x
          WHERE v_discovery_flow_id IS NOT NULL
            AND x.discovery_flow_id = v_discovery_flow_id
            AND x.client_account_id OPERATOR(migration.===) p_client_account_id
            AND x.engagement_id IS NOT DISTINCT FROM p_engagement_id
            AND x.deleted_at IS NULL
            AND (p_asset_type IS NULL OR x.asset_type = p_asset_type)
            AND (p_status IS NULL OR x.status = p_status)
          ORDER BY x.created_at DESC, x.id DESC
          LIMIT v_page_size
         OFFSET (p_page::bigint - 1) * v_page_size)
      ) AS page
      JOIN migration.assets AS a
        ON a.client_account_id = page.client_account_id
       AND a.id = page.id
       AND a.client_account_id OPERATOR(migration.===) p_client_account_id;

    RETURN jsonb_build_object('assets', v_assets)
           || discovery._pagination(p_page, v_page_size, v_total, p_page_size)
           || jsonb_build_object('filters', jsonb_build_object(
                  'flow_id', p_flow_id,
                  'discovery_flow_id', v_discovery_flow_id,
                  'asset_type', p_asset_type,
                  'status', p_status));
END
$function$
-- owner discovery_owner acl discovery_app=X/discovery_owner discovery_owner=X/discovery_owner
CREATE OR REPLACE FUNCTION discovery.list_conflicts(p_client_account_id uuid, p_engagement_id uuid, p_flow_id uuid DEFAULT NULL::uuid, p_status text DEFAULT 'pending'::text, p_page integer DEFAULT 1, p_page_size integer DEFAULT 50)
 RETURNS jsonb
 LANGUAGE plpgsql
 STABLE SECURITY DEFINER
 SET search_path TO 'pg_catalog', 'pg_temp'
 SET jit TO 'off'
AS $function$
DECLARE
    v_page_size integer := discovery._page_size(p_page, p_page_size);
    v_discovery_flow_id uuid;
    v_total bigint;
    v_conflicts jsonb;
BEGIN
    PERFORM discovery._assert_tenant(p_client_account_id, p_engagement_id);
    IF p_status IS NOT NULL AND p_status NOT IN ('pending', 'resolved') THEN
        PERFORM discovery._raise('WR006', 'unknown conflict status', format('p_status=%L', p_status),
                                 'Use pending (the default), resolved, or null for both.');
    END IF;
    IF p_flow_id IS NOT NULL THEN
        SELECT f.discovery_flow_id INTO v_discovery_flow_id
          FROM discovery.resolve_flow(p_client_account_id, p_engagement_id, p_flow_id) AS f;
    END IF;

    SELECT count(*) INTO v_total
      FROM migration.asset_conflict_resolutions AS c
     WHERE c.client_account_id = p_client_account_id
       AND c.engagement_id = p_engagement_id
       AND (v_discovery_flow_id IS NULL OR c.discovery_flow_id = v_discovery_flow_id)
       AND (p_status IS NULL OR c.resolution_status = p_status);

    -- The page is found first, as IDs alone (in the index of the tenant's
    -- conflicts by status and age, or the flow's); only its rows are then
    -- read whole and given their raw record and candidates. With the JSON in
    -- the same query as the OFFSET, every conflict skipped was joined to its
    -- record and its candidates read before being thrown away: page 100 of
    -- 10,000 resolved conflicts took 1.2 s.
    SELECT coalesce(jsonb_agg(jsonb_build_object(
               'id', c.id, 'discovery_flow_id', c.discovery_flow_id,
               'raw_import_record_id', c.raw_import_record_id, 'row_number', r.row_number,
               'data_import_id', r.data_import_id,
               'existing_asset_id', c.existing_asset_id, 'candidate_asset_ids', c.candidate_asset_ids,
               'conflict_type', c.conflict_type, 'conflict_key', c.conflict_key,
               'new_asset_data', c.new_asset_data, 'resolution_status', c.resolution_status,
               'resolution_action', c.resolution_action, 'resolution_note', c.resolution_note,
               'resolved_asset_id', c.resolved_asset_id, 'resolved_at', c.resolved_at,
               'created_at', c.created_at,
               'candidates', (
                   SELECT coalesce(jsonb_agg(jsonb_build_object(
                              'id', a.id, 'name', a.name, 'asset_type', a.asset_type, 'hostname', a.hostname,
                              'fqdn', a.fqdn, 'ip_address', a.ip_address, 'external_ids', a.external_ids,
                              'operating_system', a.operating_system, 'deleted_at', a.deleted_at)
                              ORDER BY a.id = c.existing_asset_id DESC, a.created_at), '[]'::jsonb)
                     FROM migration.assets AS a
                    WHERE a.client_account_id = p_client_account_id
                      AND a.id = ANY (c.candidate_asset_ids || c.existing_asset_id)))
               ORDER BY c.created_at, c.id), '[]'::jsonb)
      INTO v_conflicts
      FROM (
        SELECT x.id
          FROM migration.asset_conflict_resolutions AS x
         WHERE x.client_account_id = p_client_account_id
           AND x.engagement_id = p_engagement_id
           AND (v_discovery_flow_id IS NULL OR x.discovery_flow_id = v_discovery_flow_id)
           AND (p_status IS NULL OR x.resolution_status = p_status)
         ORDER BY x.created_at, x.id
         LIMIT v_page_size
        OFFSET (p_page::bigint - 1) * v_page_size
      ) AS page
      JOIN migration.asset_conflict_resolutions AS c
        ON c.client_account_id = p_client_account_id
       AND c.id = page.id
      LEFT JOIN migration.raw_import_records AS r
        ON r.client_account_id = c.client_account_id
       AND r.id = c.raw_import_record_id;

    RETURN jsonb_build_object('conflicts', v_conflicts)
           || discovery._pagination(p_page, v_page_size, v_total, p_page_size)
           || jsonb_build_object('filters', jsonb_build_object('flow_id', p_flow_id,
                                                              'discovery_flow_id', v_discovery_flow_id,
                                                              'status', p_status));
END
$function$
-- owner discovery_owner acl discovery_app=X/discovery_owner discovery_owner=X/discovery_owner
CREATE OR REPLACE FUNCTION discovery.list_data_imports(p_client_account_id uuid, p_engagement_id uuid, p_page integer DEFAULT 1, p_page_size integer DEFAULT 50)
 RETURNS jsonb
 LANGUAGE plpgsql
 STABLE SECURITY DEFINER
 SET search_path TO 'pg_catalog', 'pg_temp'
 SET jit TO 'off'
AS $function$
DECLARE
    v_page_size integer := discovery._page_size(p_page, p_page_size);
    v_total bigint;
    v_imports jsonb;
BEGIN
    PERFORM discovery._assert_tenant(p_client_account_id, p_engagement_id);
    SELECT count(*) INTO v_total
      FROM migration.data_imports AS i
     WHERE i.client_account_id = p_client_account_id
       AND i.engagement_id = p_engagement_id;

    -- The page is found first, as IDs alone (in the tenant's listing index);
    -- only its imports are then read whole and given their counts and flow
    -- (built in the query that skips the pages before it, they were built for
    -- every import skipped too).
    SELECT coalesce(jsonb_agg(jsonb_build_object(
               'id', i.id, 'import_name', i.import_name, 'filename', i.filename,
               'import_type', i.import_type, 'source_system', i.source_system, 'profile', i.profile,
               'status', i.status, 'total_records', i.total_records,
               'outcomes', (
                   SELECT jsonb_build_object(
                              'created', coalesce(sum(c.records) FILTER (WHERE c.outcome = 'created'), 0),
                              'matched', coalesce(sum(c.records) FILTER (WHERE c.outcome = 'matched'), 0),
                              'conflict', coalesce(sum(c.records) FILTER (WHERE c.outcome = 'conflict'), 0),
                              'invalid', coalesce(sum(c.records) FILTER (WHERE c.outcome = 'invalid'), 0),
                              'discarded', coalesce(sum(c.records) FILTER (WHERE c.outcome = 'discarded'), 0),
                              'pending', coalesce(sum(c.records) FILTER (WHERE c.outcome = 'pending'), 0),
                              'with_warnings', coalesce(sum(c.records) FILTER (WHERE c.with_warnings), 0))
                     FROM migration.record_counts AS c
                    WHERE c.client_account_id = p_client_account_id
                      AND c.engagement_id = i.engagement_id
                      AND c.data_import_id = i.id),
               'discovery_flow_id', f.id, 'flow_id', f.flow_id, 'master_flow_id', i.master_flow_id,
               'flow_status', f.status, 'imported_by', i.imported_by, 'created_at', i.created_at,
               'updated_at', i.updated_at)
               ORDER BY i.created_at DESC, i.id DESC), '[]'::jsonb)
      INTO v_imports
      FROM (
        SELECT x.id
          FROM migration.data_imports AS x
         WHERE x.client_account_id = p_client_account_id
           AND x.engagement_id = p_engagement_id
         ORDER BY x.created_at DESC, x.id DESC
         LIMIT v_page_size
        OFFSET (p_page::bigint - 1) * v_page_size
      ) AS page
      JOIN migration.data_imports AS i
        ON i.client_account_id = p_client_account_id
       AND i.id = page.id
      LEFT JOIN LATERAL (
          SELECT f.id, f.flow_id, f.status
            FROM migration.discovery_flows AS f
           WHERE f.client_account_id = p_client_account_id
             AND f.engagement_id = i.engagement_id
             AND f.data_import_id = i.id
           ORDER BY f.created_at
           LIMIT 1) AS f ON TRUE;

    RETURN jsonb_build_object('imports', v_imports)
           || discovery._pagination(p_page, v_page_size, v_total, p_page_size);
END
$function$
-- owner discovery_owner acl discovery_app=X/discovery_owner discovery_owner=X/discovery_owner
CREATE OR REPLACE FUNCTION discovery.list_raw_records(p_client_account_id uuid, p_engagement_id uuid, p_data_import_id uuid DEFAULT NULL::uuid, p_flow_id uuid DEFAULT NULL::uuid, p_outcome text DEFAULT NULL::text, p_page integer DEFAULT 1, p_page_size integer DEFAULT 50)
 RETURNS jsonb
 LANGUAGE plpgsql
 STABLE SECURITY DEFINER
 SET search_path TO 'pg_catalog', 'pg_temp'
 SET jit TO 'off'
 SET enable_bitmapscan TO 'off'
AS $function$
DECLARE
    v_page_size integer := discovery._page_size(p_page, p_page_size);
    v_import_id uuid := p_data_import_id;
    v_flow_import_id uuid;
    v_total bigint;
    v_records jsonb;
    v_query text;
BEGIN
    PERFORM discovery._assert_tenant(p_client_account_id, p_engagement_id);
    IF p_outcome IS NOT NULL
       AND p_outcome NOT IN ('pending', 'created', 'matched', 'conflict', 'invalid', 'discarded', 'processed') THEN
        PERFORM discovery._raise(
            'WR006', 'unknown outcome', format('p_outcome=%L', p_outcome),
            'Use pending, created, matched, conflict, invalid or discarded (or null for all).');
    END IF;
    IF p_data_import_id IS NOT NULL THEN
        PERFORM discovery._data_import(p_client_account_id, p_engagement_id, p_data_import_id);
    END IF;
    IF p_flow_id IS NOT NULL THEN
        SELECT f.data_import_id INTO v_flow_import_id
          FROM discovery.resolve_flow(p_client_account_id, p_engagement_id, p_flow_id) AS r
          JOIN migration.discovery_flows AS f
            ON f.client_account_id = p_client_account_id
           AND f.id = r.discovery_flow_id;
        IF v_import_id IS NOT NULL AND v_import_id IS DISTINCT FROM v_flow_import_id THEN
            PERFORM discovery._raise(
                'WR006', 'the flow is not the import''s', format('p_flow_id=%s p_data_import_id=%s (the flow''s import '
                                                                 'is %s)', p_flow_id, p_data_import_id, v_flow_import_id),
                'Pass the import, or the flow, or a flow and its own import.');
        END IF;
        v_import_id := v_flow_import_id;
    END IF;

    IF discovery._tenant_verified(p_client_account_id, p_engagement_id) THEN
        SELECT coalesce(sum(c.records), 0) INTO v_total
          FROM migration.record_counts AS c
         WHERE c.client_account_id = p_client_account_id
           AND c.engagement_id = p_engagement_id
           AND (v_import_id IS NULL OR c.data_import_id = v_import_id)
           AND (p_outcome IS NULL OR c.outcome = p_outcome);
    ELSE
        SELECT count(*) INTO v_total
          FROM migration.raw_import_records AS r
         WHERE r.client_account_id = p_client_account_id
           AND r.engagement_id = p_engagement_id
           AND (v_import_id IS NULL OR r.data_import_id = v_import_id)
           AND (p_outcome IS NULL OR migration.record_outcome(r.processing_status, r.is_processed) = p_outcome);
    END IF;

    -- A statement per shape, each served by its own index.
    v_query := format($q$
        SELECT coalesce(jsonb_agg(jsonb_build_object(
                   'id', r.id, 'data_import_id', r.data_import_id, 'row_number', r.row_number,
                   'processing_status', r.processing_status, 'is_processed', r.is_processed, 'is_valid', r.is_valid,
                   'validation_errors', r.validation_errors, 'processing_notes', r.processing_notes,
                   'asset_id', r.asset_id, 'processed_at', r.processed_at, 'raw_data', r.raw_data,
                   'cleansed_data', r.cleansed_data) ORDER BY r.data_import_id, r.row_number), '[]'::jsonb)
          FROM (SELECT r.*
                  FROM migration.raw_import_records AS r
                 WHERE %s
                   %s %s
                 ORDER BY r.data_import_id, r.row_number
                 LIMIT $5 OFFSET $6) AS r
    $q$,
        -- An import's rare outcomes come from the outcome index (import, outcome,
        -- row): the tenant is then pinned (migration.===, no index takes it), or a planner
        -- whose statistics do not know the tenant walks the import's listing
        -- until it has found a page of them.
        CASE WHEN v_import_id IS NOT NULL AND p_outcome IN ('conflict', 'invalid', 'discarded')
             THEN 'r.client_account_id OPERATOR(migration.===) $1 AND r.engagement_id IS NOT DISTINCT FROM $2'
             ELSE 'r.client_account_id = $1 AND r.engagement_id = $2' END,
        CASE WHEN v_import_id IS NOT NULL THEN 'AND r.data_import_id = $3' ELSE '' END,
        CASE
            WHEN p_outcome IS NULL THEN ''
            WHEN p_outcome = 'pending' THEN 'AND NOT r.is_processed'
            WHEN p_outcome = 'processed' THEN 'AND r.is_processed AND r.processing_status IS NULL'
            ELSE 'AND r.processing_status = $4'
        END);
    EXECUTE v_query INTO v_records
      USING p_client_account_id, p_engagement_id, v_import_id, p_outcome, v_page_size,
            (p_page::bigint - 1) * v_page_size;

    RETURN jsonb_build_object('records', v_records)
           || discovery._pagination(p_page, v_page_size, v_total, p_page_size)
           || jsonb_build_object('filters', jsonb_build_object('data_import_id', v_import_id, 'flow_id', p_flow_id,
                                                              'outcome', p_outcome));
END
$function$
-- owner discovery_owner acl discovery_app=X/discovery_owner discovery_owner=X/discovery_owner
CREATE OR REPLACE FUNCTION discovery.persist_cleansed_data(p_client_account_id uuid, p_engagement_id uuid, p_discovery_flow_id uuid, p_cleansed jsonb)
 RETURNS integer
 LANGUAGE plpgsql
 SECURITY DEFINER
 SET search_path TO 'pg_catalog', 'pg_temp'
 SET jit TO 'off'
AS $function$
DECLARE
    v_flow migration.discovery_flows;
    v_bad record;
    v_keys text[];
    v_count integer;
BEGIN
    PERFORM discovery._assert_tenant(p_client_account_id, p_engagement_id);
    v_flow := discovery._discovery_flow(p_client_account_id, p_engagement_id, p_discovery_flow_id);
    PERFORM discovery._assert_payload(p_cleansed, 'p_cleansed');

    SELECT e.ordinality, e.value INTO v_bad
      FROM jsonb_array_elements(p_cleansed) WITH ORDINALITY AS e (value, ordinality)
     WHERE jsonb_typeof(e.value -> 'raw_import_record_id') IS DISTINCT FROM 'string'
        OR NOT discovery._is_uuid(e.value ->> 'raw_import_record_id')
        OR jsonb_typeof(e.value -> 'cleansed_data') IS DISTINCT FROM 'object'
        OR coalesce(jsonb_typeof(e.value -> 'validation_errors'), 'null') NOT IN ('null', 'array')
     ORDER BY e.ordinality
     LIMIT 1;
    IF FOUND THEN
        PERFORM discovery._raise(
            'WR005', 'malformed cleansed record',
            format('element %s of p_cleansed: %s', v_bad.ordinality, left(v_bad.value::text, 500)),
            'Each element is {"raw_import_record_id": uuid, "cleansed_data": object, '
            '"validation_errors": array (optional)}.');
    END IF;

    SELECT (e.value ->> 'raw_import_record_id')::uuid AS id INTO v_bad
      FROM jsonb_array_elements(p_cleansed) AS e (value)
     GROUP BY (e.value ->> 'raw_import_record_id')::uuid
    HAVING count(*) > 1
     LIMIT 1;
    IF FOUND THEN
        PERFORM discovery._raise(
            'WR005', 'a raw record appears twice in p_cleansed',
            format('raw_import_record_id=%s', v_bad.id),
            'Send one cleansing result per raw record.');
    END IF;

    -- Each record is looked up by its primary key alone, from the element's
    -- own tenant column (OFFSET 0 keeps it opaque), and its engagement and
    -- import are compared after the join: given constants, a planner whose
    -- statistics do not know the tenant or import yet may scan them once per
    -- element (see cleanse_records).
    SELECT e.value ->> 'raw_import_record_id' AS id, r.is_processed,
           r.id IS NOT NULL AND r.engagement_id = p_engagement_id AND r.data_import_id = v_flow.data_import_id
               AS in_import
      INTO v_bad
      FROM (SELECT p_client_account_id AS tenant, x.value
              FROM jsonb_array_elements(p_cleansed) AS x (value)
            OFFSET 0) AS e
      LEFT JOIN migration.raw_import_records AS r
        ON r.client_account_id = e.tenant
       AND r.id = (e.value ->> 'raw_import_record_id')::uuid
       AND r.client_account_id OPERATOR(migration.===) p_client_account_id
     WHERE r.id IS NULL OR r.engagement_id <> p_engagement_id OR r.data_import_id <> v_flow.data_import_id
        OR r.is_processed
     ORDER BY r.id IS NOT NULL AND r.engagement_id = p_engagement_id AND r.data_import_id = v_flow.data_import_id
     LIMIT 1;
    IF FOUND AND NOT v_bad.in_import THEN
        PERFORM discovery._raise(
            'WR004', 'raw record is not part of this flow''s import',
            format('raw_import_record_id=%s discovery_flow_id=%s data_import_id=%s',
                   v_bad.id, v_flow.id, v_flow.data_import_id),
            'Send only records of the import the flow was started on: discovery.list_raw_records lists them.');
    ELSIF FOUND THEN
        PERFORM discovery._raise(
            'WR008', 'cleansed data cannot be written for a record already processed',
            format('raw_import_record_id=%s discovery_flow_id=%s', v_bad.id, v_flow.id),
            'Its asset was already created or matched from the data it had; import the record again to change it.');
    END IF;

    -- the keys once each (a hash of them; array_agg(DISTINCT) sorted every key of every record)
    SELECT array_agg(d.key ORDER BY d.key) INTO v_keys
      FROM (SELECT DISTINCT k.key
          FROM jsonb_array_elements(p_cleansed) AS e (value)
         CROSS JOIN LATERAL jsonb_object_keys(e.value -> 'cleansed_data') AS k (key)) AS d;

    EXECUTE format($persist$
        WITH c AS MATERIALIZED (%s)
        UPDATE migration.raw_import_records AS r
           SET cleansed_data = c.fields,
               validation_errors = c.caller_errors || c.problems,
               is_valid = jsonb_array_length(c.caller_errors) = 0 AND NOT c.problems @> '[{"severity": "error"}]'
          FROM c
         WHERE r.client_account_id = c.dw_tenant
           AND r.id = c.id
           AND r.client_account_id OPERATOR(migration.===) $1
    $persist$, discovery._cleansing_sql('{}', coalesce(v_keys, '{}'), '{}',
        'SELECT $1::uuid AS dw_tenant, (e.value ->> ''raw_import_record_id'')::uuid AS id, e.value -> ''cleansed_data'' AS data, '
        'CASE WHEN jsonb_typeof(e.value -> ''validation_errors'') = ''array'' THEN e.value -> ''validation_errors'' '
        'ELSE ''[]''::jsonb END AS caller_errors FROM jsonb_array_elements($2) AS e (value)'))
    USING p_client_account_id, p_cleansed;
    GET DIAGNOSTICS v_count = ROW_COUNT;
    RETURN v_count;
END
$function$
-- owner discovery_owner acl discovery_app=X/discovery_owner discovery_owner=X/discovery_owner
CREATE OR REPLACE FUNCTION discovery.register_tenant(p_client_account_id uuid, p_engagement_id uuid, p_client_name text, p_engagement_name text)
 RETURNS void
 LANGUAGE plpgsql
 SECURITY DEFINER
 SET search_path TO 'pg_catalog', 'pg_temp'
 SET jit TO 'off'
AS $function$
BEGIN
    IF p_client_account_id IS NULL OR p_engagement_id IS NULL THEN
        PERFORM discovery._raise(
            'WR006', 'client account and engagement IDs are required',
            format('client_account_id=%s engagement_id=%s', p_client_account_id, p_engagement_id),
            'Pass both UUIDs.');
    END IF;
    IF nullif(btrim(p_client_name), '') IS NULL OR nullif(btrim(p_engagement_name), '') IS NULL THEN
        PERFORM discovery._raise(
            'WR006', 'client and engagement names are required',
            format('client_name=%L engagement_name=%L', p_client_name, p_engagement_name),
            'Pass a non-empty name for both.');
    END IF;
    INSERT INTO migration.client_accounts (id, name)
    VALUES (p_client_account_id, btrim(p_client_name))
    ON CONFLICT (id) DO NOTHING;
    INSERT INTO migration.engagements (client_account_id, id, name)
    VALUES (p_client_account_id, p_engagement_id, btrim(p_engagement_name))
    ON CONFLICT (client_account_id, id) DO NOTHING;
END
$function$
-- owner discovery_owner acl discovery_app=X/discovery_owner discovery_owner=X/discovery_owner
CREATE OR REPLACE FUNCTION discovery.repair_wiring(p_client_account_id uuid, p_engagement_id uuid, p_dry_run boolean DEFAULT true)
 RETURNS jsonb
 LANGUAGE plpgsql
 SECURITY DEFINER
 SET search_path TO 'pg_catalog', 'pg_temp'
 SET jit TO 'off'
AS $function$
DECLARE
    c_rollback CONSTANT text := 'WR900';
    v_result jsonb;
BEGIN
    PERFORM discovery._assert_tenant(p_client_account_id, p_engagement_id);
    PERFORM discovery._assert_flag(p_dry_run, 'p_dry_run');
    BEGIN
        -- Taken in the block: a dry run lets it go when its writes roll back, so a
        -- caller that keeps its transaction open after a dry run holds no import up.
        PERFORM discovery._lock_tenant_assets(p_client_account_id, p_engagement_id);
        v_result := jsonb_build_object(
            'dry_run', p_dry_run,
            'repaired', discovery._repair_wiring(p_client_account_id, p_engagement_id));
        -- A statement of its own, so that its snapshot sees the repairs.
        SELECT v_result || jsonb_build_object('remaining', jsonb_object_agg(k.kind, coalesce(g.n, 0)))
          INTO v_result
          FROM unnest(discovery._gap_kinds()) AS k (kind)
          LEFT JOIN (
              SELECT gaps.gap, count(*) AS n
                FROM discovery._wiring_gaps(p_client_account_id, p_engagement_id, TRUE) AS gaps
               GROUP BY gaps.gap
          ) AS g ON g.gap = k.kind;
        v_result := v_result || jsonb_build_object(
            'verified', discovery._tenant_verified(p_client_account_id, p_engagement_id)
                        OR discovery._verify_tenant(p_client_account_id, p_engagement_id));
        IF p_dry_run THEN
            -- Undo this block's writes; only this exact SQLSTATE is caught.
            RAISE EXCEPTION USING ERRCODE = c_rollback, MESSAGE = 'repair_wiring dry run';
        END IF;
    EXCEPTION
        WHEN SQLSTATE 'WR900' THEN
            NULL;
    END;
    PERFORM migration.check_settled_wiring(p_client_account_id);  -- see create_assets_from_discovery
    RETURN v_result;
END
$function$
-- owner discovery_owner acl discovery_app=X/discovery_owner discovery_owner=X/discovery_owner
CREATE OR REPLACE FUNCTION discovery.resolve_asset_conflict(p_client_account_id uuid, p_engagement_id uuid, p_conflict_id uuid, p_action text, p_merge_fields jsonb DEFAULT NULL::jsonb)
 RETURNS uuid
 LANGUAGE plpgsql
 SECURITY DEFINER
 SET search_path TO 'pg_catalog', 'pg_temp'
 SET jit TO 'off'
AS $function$
DECLARE
    v_now timestamptz := now();
    v_conflict migration.asset_conflict_resolutions;
    v_flow migration.discovery_flows;
    v_import migration.data_imports;
    v_asset_id uuid;
    v_fields jsonb;
    v_bad text;
BEGIN
    PERFORM discovery._assert_tenant(p_client_account_id, p_engagement_id);
    IF p_action IS NULL OR p_action NOT IN ('keep_existing', 'replace_with_new', 'merge', 'create_new') THEN
        PERFORM discovery._raise(
            'WR006', 'unknown conflict action', format('p_action=%L', p_action),
            'Use keep_existing, replace_with_new, merge or create_new.');
    END IF;
    IF p_action = 'merge' THEN
        IF p_merge_fields IS NULL OR jsonb_typeof(p_merge_fields) <> 'array'
           OR jsonb_array_length(p_merge_fields) = 0
           OR EXISTS (SELECT FROM jsonb_array_elements(p_merge_fields) AS e (value)
                       WHERE jsonb_typeof(e.value) <> 'string') THEN
            PERFORM discovery._raise(
                'WR005', 'p_merge_fields must be a non-empty JSON array of field names',
                format('p_merge_fields=%s', left(coalesce(p_merge_fields::text, 'null'), 500)),
                'Name the fields to copy from the new data, for instance ["operating_system", "cpu_cores"].');
        END IF;
        SELECT e.value INTO v_bad
          FROM jsonb_array_elements_text(p_merge_fields) AS e (value)
         WHERE discovery._field_name(e.value) = ANY (discovery._identity_columns() || 'asset_type'::text)
            OR discovery._field_name(e.value) LIKE 'external\_ids%'
            OR lower(discovery._trim(e.value)) = 'external_ids'
         LIMIT 1;
        IF FOUND THEN
            PERFORM discovery._raise(
                'WR006', 'a merge cannot change the asset''s identity',
                format('p_merge_fields names %L', v_bad),
                format('Identity fields (%s, asset_type, external IDs) are kept; link the record with keep_existing, '
                       'or make it its own asset with create_new.',
                       array_to_string(discovery._identity_columns(), ', ')));
        END IF;
    END IF;

    PERFORM discovery._lock_tenant_assets(p_client_account_id, p_engagement_id);

    SELECT c.* INTO v_conflict
      FROM migration.asset_conflict_resolutions AS c
     WHERE c.client_account_id = p_client_account_id
       AND c.engagement_id = p_engagement_id
       AND c.id = p_conflict_id
       FOR UPDATE;
    IF NOT FOUND OR v_conflict.resolution_status <> 'pending' THEN
        PERFORM discovery._raise(
            'WR007', CASE WHEN FOUND THEN 'conflict already resolved' ELSE 'conflict not found in this tenant' END,
            format('conflict_id=%s resolution_status=%s resolution_action=%s',
                   p_conflict_id, v_conflict.resolution_status, v_conflict.resolution_action),
            'discovery.list_conflicts lists the tenant''s pending conflicts.');
    END IF;
    v_flow := discovery._discovery_flow(p_client_account_id, p_engagement_id, v_conflict.discovery_flow_id);

    IF p_action = 'create_new' THEN
        v_import := discovery._data_import(p_client_account_id, p_engagement_id, v_flow.data_import_id);
        v_asset_id := gen_random_uuid();
        EXECUTE 'INSERT INTO migration.assets ' || discovery._asset_values_sql('$5', jsonb_build_object(
                    'client_account_id', '$1', 'engagement_id', '$2', 'id', '$3', 'discovery_flow_id', '$4',
                    'master_flow_id', '$6', 'raw_import_records_id', '$7', 'field_mappings_used', '$8',
                    'discovery_method', '''flow_based''',
                    'discovery_source', 'coalesce($5 ->> ''discovery_source'', $9)', 'created_at', '$10',
                    'updated_at', '$10'), '(SELECT 1) AS one')
          USING p_client_account_id, p_engagement_id, v_asset_id, v_flow.id, v_conflict.new_asset_data,
                v_flow.master_flow_id, v_conflict.raw_import_record_id,
                discovery._approved_mappings(p_client_account_id, v_flow.data_import_id),
                coalesce(v_import.source_system, v_import.import_type), v_now;
    ELSE
        v_asset_id := v_conflict.existing_asset_id;
        IF NOT EXISTS (SELECT FROM migration.assets AS a
                        WHERE a.client_account_id = p_client_account_id
                          AND a.id = v_asset_id
                          AND a.deleted_at IS NULL) THEN
            PERFORM discovery._raise(
                'WR008', 'the conflict''s existing asset was deleted since the conflict was raised',
                format('conflict_id=%s existing_asset_id=%s', v_conflict.id, v_asset_id),
                'Resolve it with create_new (the record becomes its own asset).');
        END IF;
        -- the new data's fields to write: none, every non-identity field, or the named ones
        v_fields := CASE p_action
            WHEN 'keep_existing' THEN '{}'::jsonb
            WHEN 'replace_with_new' THEN v_conflict.new_asset_data - discovery._identity_columns() - 'external_ids'
            ELSE (SELECT coalesce(jsonb_object_agg(kv.key, kv.value), '{}'::jsonb)
                    FROM jsonb_each(v_conflict.new_asset_data) AS kv
                   WHERE kv.key IN (SELECT discovery._field_name(m.value)
                                      FROM jsonb_array_elements_text(p_merge_fields) AS m (value)))
        END;
        EXECUTE format($apply$
            WITH changes AS (
                SELECT $3 AS asset_id, f.field, f.old_value, f.new_value, $4 AS raw_import_record_id
                  FROM migration.assets AS a
                 CROSS JOIN LATERAL discovery._field_changes(to_jsonb(a), $5, 'refresh') AS f
                 WHERE a.client_account_id = $1
                   AND a.id = $3
            ),
            %s
            SELECT count(*) FROM logged
        $apply$, discovery._apply_changes_sql('$1', '$2', '$6', 'NULL::uuid', '$7'))
        USING p_client_account_id, p_engagement_id, v_asset_id, v_conflict.raw_import_record_id, v_fields, v_now,
              v_conflict.id;
    END IF;

    UPDATE migration.raw_import_records AS r
       SET asset_id = v_asset_id,
           is_processed = TRUE,
           processed_at = v_now,
           processing_status = CASE WHEN p_action = 'create_new' THEN 'created' ELSE 'matched' END,
           processing_notes = format('conflict %s resolved (%s): linked to asset %s', v_conflict.id, p_action,
                                     v_asset_id),
           master_flow_id = v_flow.master_flow_id
     WHERE r.client_account_id = p_client_account_id
       AND r.id = v_conflict.raw_import_record_id
       AND r.asset_id IS NULL;

    UPDATE migration.asset_conflict_resolutions AS c
       SET resolution_status = 'resolved',
           resolution_action = p_action,
           resolved_asset_id = v_asset_id,
           resolved_at = v_now
     WHERE c.client_account_id = p_client_account_id
       AND c.id = v_conflict.id;

    PERFORM discovery._sync_flow_state(p_client_account_id, p_engagement_id, v_conflict.discovery_flow_id);
    PERFORM migration.check_settled_wiring(p_client_account_id);  -- see create_assets_from_discovery
    RETURN v_asset_id;
END
$function$
-- owner discovery_owner acl discovery_app=X/discovery_owner discovery_owner=X/discovery_owner
CREATE OR REPLACE FUNCTION discovery.resolve_flow(p_client_account_id uuid, p_engagement_id uuid, p_any_flow_id uuid)
 RETURNS TABLE(discovery_flow_id uuid, flow_id uuid, master_flow_id uuid)
 LANGUAGE plpgsql
 STABLE SECURITY DEFINER
 SET search_path TO 'pg_catalog', 'pg_temp'
 SET jit TO 'off'
AS $function$
#variable_conflict use_column
BEGIN
    PERFORM discovery._assert_tenant(p_client_account_id, p_engagement_id);
    RETURN QUERY
    SELECT f.id, f.flow_id, f.master_flow_id
      FROM migration.discovery_flows AS f
     WHERE f.client_account_id = p_client_account_id
       AND f.engagement_id = p_engagement_id
       AND (f.id = p_any_flow_id OR f.flow_id = p_any_flow_id OR f.master_flow_id = p_any_flow_id)
     ORDER BY (f.id = p_any_flow_id) DESC, f.created_at
     LIMIT 1;
    IF NOT FOUND THEN
        PERFORM discovery._raise(
            'WR002', 'flow not found in this tenant',
            format('flow id=%s client_account_id=%s engagement_id=%s',
                   p_any_flow_id, p_client_account_id, p_engagement_id),
            'Pass a discovery flow ID, a flow_id or a master flow ID of this client account and engagement.');
    END IF;
END
$function$
-- owner discovery_owner acl discovery_app=X/discovery_owner discovery_owner=X/discovery_owner
CREATE OR REPLACE FUNCTION discovery.set_field_mappings(p_client_account_id uuid, p_engagement_id uuid, p_data_import_id uuid, p_mappings jsonb, p_field_defaults jsonb DEFAULT NULL::jsonb, p_profile text DEFAULT NULL::text)
 RETURNS integer
 LANGUAGE plpgsql
 SECURITY DEFINER
 SET search_path TO 'pg_catalog', 'pg_temp'
 SET jit TO 'off'
AS $function$
DECLARE
    v_now timestamptz := now();
    v_import migration.data_imports;
    v_bad record;
    v_count integer;
    v_changed boolean;
    v_defaults jsonb;
BEGIN
    PERFORM discovery._assert_tenant(p_client_account_id, p_engagement_id);
    v_import := discovery._data_import(p_client_account_id, p_engagement_id, p_data_import_id, TRUE);
    PERFORM discovery._assert_payload(p_mappings, 'p_mappings');

    SELECT e.ordinality, e.value INTO v_bad
      FROM jsonb_array_elements(p_mappings) WITH ORDINALITY AS e (value, ordinality)
     WHERE jsonb_typeof(e.value -> 'source_field') IS DISTINCT FROM 'string'
        OR jsonb_typeof(e.value -> 'target_field') IS DISTINCT FROM 'string'
        OR coalesce(discovery._trim(e.value ->> 'source_field'), '') = ''
        OR coalesce(discovery._trim(e.value ->> 'target_field'), '') = ''
        OR length(e.value ->> 'target_field') > 1000
        OR coalesce(e.value ->> 'status', 'approved') NOT IN ('suggested', 'approved', 'rejected')
        OR coalesce(jsonb_typeof(e.value -> 'confidence_score'), 'null') NOT IN ('null', 'number')
        OR coalesce(e.value ->> 'unit', 'GB') NOT IN ('B', 'KB', 'KiB', 'MB', 'MiB', 'GB', 'GiB', 'TB', 'TiB')
        OR coalesce(jsonb_typeof(e.value -> 'value_key'), 'null') NOT IN ('null', 'string')
        OR coalesce(jsonb_typeof(e.value -> 'priority'), 'null') NOT IN ('null', 'number')
        OR (jsonb_typeof(e.value -> 'priority') = 'number'
            AND ((e.value ->> 'priority') !~ '^[0-9]{1,3}$' OR (e.value ->> 'priority')::integer NOT BETWEEN 1 AND 100))
     ORDER BY e.ordinality
     LIMIT 1;
    IF FOUND THEN
        PERFORM discovery._raise(
            'WR005', 'malformed field mapping',
            format('element %s of p_mappings: %s', v_bad.ordinality, left(v_bad.value::text, 500)),
            'Each mapping is {"source_field": text, "target_field": text (up to 1,000 characters), "status": '
            '"approved" | "suggested" | "rejected", "confidence_score": number, "unit": "MB" | "MiB" | "GB" | …, '
            '"priority": 1-100, "value_key": text}; only the first two are required.');
    END IF;
    SELECT e.ordinality, e.value ->> 'target_field' AS target INTO v_bad
      FROM jsonb_array_elements(p_mappings) WITH ORDINALITY AS e (value, ordinality)
     WHERE lower(discovery._trim(e.value ->> 'target_field')) IN ('external_ids', 'external_ids.')
     ORDER BY e.ordinality
     LIMIT 1;
    IF FOUND THEN
        PERFORM discovery._raise(
            'WR005', 'a mapping target names external IDs without a namespace',
            format('element %s of p_mappings: target_field=%L', v_bad.ordinality, v_bad.target),
            'Map an identifier the source guarantees unique to external_ids.<namespace>, e.g. '
            'external_ids.serial_number.');
    END IF;
    IF p_field_defaults IS NOT NULL AND jsonb_typeof(p_field_defaults) <> 'object' THEN
        PERFORM discovery._raise(
            'WR005', 'p_field_defaults must be a JSON object', format('p_field_defaults is %s',
                                                                       jsonb_typeof(p_field_defaults)),
            'Pass {"field": value, …}, e.g. {"asset_type": "virtual_machine"}.');
    END IF;
    -- A default fills a field as it is, so it must be a value the field can hold.
    SELECT d.key, d.value INTO v_bad
      FROM jsonb_each(coalesce(p_field_defaults, '{}')) AS d
     CROSS JOIN LATERAL (SELECT discovery._field_name(d.key) AS field, discovery._trim(d.value #>> '{}') AS text) AS x
     WHERE (x.field = ANY (discovery._asset_columns()) OR x.field LIKE 'external\_ids._%')
       AND (jsonb_typeof(d.value) NOT IN ('string', 'number', 'boolean')
            OR (x.field = 'ip_address' AND NOT migration.is_ip_address(x.text))
            OR (x.field = 'cpu_cores' AND (x.text !~ '^[0-9]{1,6}$' OR x.text::integer > 100000))
            OR (x.field IN ('memory_gb', 'storage_gb') AND (discovery._to_gb(x.text) <= 1e9) IS NOT TRUE)
            OR ((x.field = ANY (discovery._identity_columns()) OR x.field = 'asset_type'
                 OR x.field LIKE 'external\_ids._%') AND length(x.text) > 255)
            OR length(x.text) > 10000)
     ORDER BY d.key
     LIMIT 1;
    IF FOUND THEN
        PERFORM discovery._raise(
            'WR005', 'a field default is no value its field can hold',
            format('p_field_defaults.%s=%s', v_bad.key, left(v_bad.value::text, 200)),
            'A default is a text, number or boolean: an IP address for ip_address, a whole number from 0 to '
            '100,000 for cpu_cores, an amount up to 1e9 GB for memory_gb and storage_gb, up to 255 characters '
            'for identity fields, asset_type and external IDs, 10,000 for other text.');
    END IF;
    -- ... stored as the field holds it (the cleansing writes a default as it is).
    SELECT jsonb_object_agg(d.key, CASE
               WHEN x.field = 'ip_address' THEN to_jsonb(host(migration.ip_key(x.text)))
               WHEN x.field = 'cpu_cores' THEN to_jsonb(x.text::integer)
               WHEN x.field IN ('memory_gb', 'storage_gb') THEN to_jsonb(discovery._to_gb(x.text))
               WHEN x.field = ANY (discovery._asset_columns()) OR x.field LIKE 'external\_ids._%' THEN to_jsonb(x.text)
               ELSE d.value
           END)
      INTO v_defaults
      FROM jsonb_each(coalesce(p_field_defaults, '{}')) AS d
     CROSS JOIN LATERAL (SELECT discovery._field_name(d.key) AS field, discovery._trim(d.value #>> '{}') AS text) AS x;
    v_defaults := CASE WHEN p_field_defaults IS NOT NULL THEN coalesce(v_defaults, '{}') END;

    SELECT lower(discovery._trim(e.value ->> 'source_field')) AS source INTO v_bad
      FROM jsonb_array_elements(p_mappings) AS e (value)
     GROUP BY 1
    HAVING count(*) > 1
     LIMIT 1;
    IF FOUND THEN
        PERFORM discovery._raise(
            'WR005', 'a source field is mapped twice',
            format('source_field=%L appears more than once in p_mappings (case and padding aside)', v_bad.source),
            'Give each source field one mapping.');
    END IF;

    -- What this call would change, compared as stored (targets trimmed, asset columns in lower case).
    SELECT EXISTS (
               SELECT FROM jsonb_array_elements(p_mappings) AS e (value)
                 LEFT JOIN migration.import_field_mappings AS m
                   ON m.data_import_id = p_data_import_id
                  AND m.client_account_id = p_client_account_id
                  AND md5(m.source_field) = md5(e.value ->> 'source_field')
                WHERE m.id IS NULL
                   OR (m.target_field, m.status, m.unit, m.priority, m.value_key)
                      IS DISTINCT FROM (discovery._field_name(e.value ->> 'target_field'),
                                        coalesce(e.value ->> 'status', 'approved'), e.value ->> 'unit',
                                        coalesce((e.value ->> 'priority')::smallint, 1), e.value ->> 'value_key'))
           OR (v_defaults IS NOT NULL AND v_defaults IS DISTINCT FROM v_import.field_defaults)
      INTO v_changed;
    IF v_changed AND EXISTS (
           SELECT FROM migration.asset_inventory_runs AS run
             JOIN migration.discovery_flows AS f
               ON f.client_account_id = run.client_account_id
              AND f.id = run.discovery_flow_id
            WHERE f.client_account_id = p_client_account_id
              AND f.engagement_id = p_engagement_id
              AND f.data_import_id = p_data_import_id) THEN
        PERFORM discovery._raise(
            'WR008', 'the import''s mappings cannot change after its inventory ran',
            format('data_import_id=%s', p_data_import_id),
            'Assets were already created with the current mappings; import the file again '
            '(a new import and flow) to apply different mappings, or undo this one (discovery.undo_import).');
    END IF;

    INSERT INTO migration.import_field_mappings AS m (
        client_account_id, engagement_id, data_import_id, source_field, target_field, status,
        confidence_score, unit, priority, value_key, created_at, updated_at
    )
    SELECT p_client_account_id, p_engagement_id, p_data_import_id,
           e.value ->> 'source_field', discovery._field_name(e.value ->> 'target_field'),
           coalesce(e.value ->> 'status', 'approved'),
           CASE WHEN jsonb_typeof(e.value -> 'confidence_score') = 'number'
                THEN least(greatest((e.value ->> 'confidence_score')::numeric, 0), 1)::numeric(4, 3) END,
           e.value ->> 'unit', coalesce((e.value ->> 'priority')::smallint, 1), e.value ->> 'value_key', v_now, v_now
      FROM jsonb_array_elements(p_mappings) AS e (value)
    ON CONFLICT (data_import_id, md5(source_field), client_account_id) DO UPDATE
       SET target_field = excluded.target_field,
           status = excluded.status,
           confidence_score = coalesce(excluded.confidence_score, m.confidence_score),
           unit = excluded.unit,
           priority = excluded.priority,
           value_key = excluded.value_key,
           updated_at = excluded.updated_at;
    GET DIAGNOSTICS v_count = ROW_COUNT;

    -- Two approved sources of one asset column or external ID with one priority.
    SELECT m.target_field, m.priority, array_agg(m.source_field ORDER BY m.source_field) AS sources INTO v_bad
      FROM migration.import_field_mappings AS m
     WHERE m.data_import_id = p_data_import_id
       AND m.client_account_id = p_client_account_id
       AND m.status = 'approved'
       AND (m.target_field = ANY (discovery._asset_columns()) OR m.target_field LIKE 'external\_ids._%')
     GROUP BY m.target_field, m.priority
    HAVING count(*) > 1
     LIMIT 1;
    IF FOUND THEN
        PERFORM discovery._raise(
            'WR005', 'two source fields would fill one field',
            format('target_field=%L priority=%s source_fields=%s', v_bad.target_field, v_bad.priority,
                   array_to_string(v_bad.sources, ', ')),
            'Map the best source to the field and the others to custom attributes, or give them different '
            'priorities (the lowest non-empty value wins).');
    END IF;

    IF v_defaults IS NOT NULL OR p_profile IS NOT NULL THEN
        UPDATE migration.data_imports AS i
           SET field_defaults = coalesce(v_defaults, i.field_defaults),
               profile = coalesce(p_profile, i.profile),
               updated_at = v_now
         WHERE i.client_account_id = p_client_account_id
           AND i.id = p_data_import_id;
    END IF;

    IF v_changed THEN
        UPDATE migration.raw_import_records AS r
           SET cleansed_data = NULL,
               validation_errors = NULL,
               is_valid = NULL
         WHERE r.data_import_id = p_data_import_id
           AND r.client_account_id = p_client_account_id
           AND NOT r.is_processed
           AND r.cleansed_data IS NOT NULL;
    END IF;

    UPDATE migration.discovery_flows AS f
       SET field_mapping_completed = TRUE,
           current_phase = CASE WHEN f.current_phase IN ('data_import', 'field_mapping')
                                THEN 'data_cleansing' ELSE f.current_phase END,
           updated_at = v_now
     WHERE f.client_account_id = p_client_account_id
       AND f.engagement_id = p_engagement_id
       AND f.data_import_id = p_data_import_id
       AND NOT f.field_mapping_completed
       AND EXISTS (
           SELECT FROM migration.import_field_mappings AS m
            WHERE m.data_import_id = p_data_import_id
              AND m.client_account_id = p_client_account_id
              AND m.status = 'approved');

    RETURN v_count;
END
$function$
-- owner discovery_owner acl discovery_app=X/discovery_owner discovery_owner=X/discovery_owner
CREATE OR REPLACE FUNCTION discovery.start_discovery_flow(p_client_account_id uuid, p_engagement_id uuid, p_data_import_id uuid, p_flow_name text DEFAULT NULL::text, p_user_id text DEFAULT NULL::text)
 RETURNS TABLE(discovery_flow_id uuid, flow_id uuid, master_flow_id uuid)
 LANGUAGE plpgsql
 SECURITY DEFINER
 SET search_path TO 'pg_catalog', 'pg_temp'
 SET jit TO 'off'
AS $function$
#variable_conflict use_column
DECLARE
    v_import migration.data_imports;
    v_flow_id uuid := gen_random_uuid();
    v_discovery_flow_id uuid := gen_random_uuid();
    v_name text;
BEGIN
    PERFORM discovery._assert_tenant(p_client_account_id, p_engagement_id);
    v_import := discovery._data_import(p_client_account_id, p_engagement_id, p_data_import_id, true);

    IF v_import.master_flow_id IS NOT NULL THEN
        RETURN QUERY
        SELECT f.id, f.flow_id, f.master_flow_id
          FROM migration.discovery_flows AS f
         WHERE f.client_account_id = p_client_account_id
           AND f.engagement_id = p_engagement_id
           AND f.master_flow_id = v_import.master_flow_id
         ORDER BY f.created_at
         LIMIT 1;
        IF FOUND THEN
            RETURN;
        END IF;
    END IF;

    v_name := coalesce(nullif(btrim(p_flow_name), ''), 'Discovery of ' || v_import.import_name);

    INSERT INTO migration.crewai_flow_state_extensions (
        client_account_id, engagement_id, flow_id, flow_type, flow_name, flow_status, user_id,
        flow_persistence_data
    )
    VALUES (
        p_client_account_id, p_engagement_id, v_flow_id, 'discovery', v_name, 'active', p_user_id,
        jsonb_build_object('data_import_id', p_data_import_id, 'discovery_flow_id', v_discovery_flow_id)
    );

    INSERT INTO migration.discovery_flows (
        client_account_id, engagement_id, id, flow_id, master_flow_id, data_import_id,
        flow_name, user_id, current_phase, data_import_completed
    )
    VALUES (
        p_client_account_id, p_engagement_id, v_discovery_flow_id, v_flow_id, v_flow_id,
        p_data_import_id, v_name, p_user_id, 'field_mapping', true
    );

    UPDATE migration.data_imports AS i
       SET master_flow_id = v_flow_id,
           updated_at = now()
     WHERE i.client_account_id = p_client_account_id
       AND i.id = p_data_import_id;

    RETURN QUERY SELECT v_discovery_flow_id, v_flow_id, v_flow_id;
END
$function$
-- owner discovery_owner acl discovery_app=X/discovery_owner discovery_owner=X/discovery_owner
CREATE OR REPLACE FUNCTION discovery.suggest_field_mappings(p_client_account_id uuid, p_engagement_id uuid, p_data_import_id uuid)
 RETURNS TABLE(source_field text, target_field text, confidence_score numeric)
 LANGUAGE plpgsql
 STABLE SECURITY DEFINER
 SET search_path TO 'pg_catalog', 'pg_temp'
 SET jit TO 'off'
AS $function$
#variable_conflict use_column
BEGIN
    PERFORM discovery._assert_tenant(p_client_account_id, p_engagement_id);
    PERFORM discovery._data_import(p_client_account_id, p_engagement_id, p_data_import_id);

    RETURN QUERY
    WITH source_fields AS (
        SELECT DISTINCT k.key AS source_field
          FROM migration.raw_import_records AS r
         CROSS JOIN LATERAL jsonb_object_keys(r.raw_data) AS k (key)
         WHERE r.data_import_id = p_data_import_id
           AND r.client_account_id = p_client_account_id
           AND r.engagement_id = p_engagement_id
           AND discovery._trim(k.key) <> ''
    ),
    normalized AS (
        SELECT s.source_field,
               btrim(regexp_replace(lower(s.source_field), '[^a-z0-9]+', '_', 'g'), '_') AS norm
          FROM source_fields AS s
    ),
    synonyms (norm, target_field) AS (
        VALUES
            ('server_name', 'hostname'), ('host', 'hostname'), ('host_name', 'hostname'),
            ('server', 'hostname'), ('computer_name', 'hostname'), ('machine_name', 'hostname'),
            ('dns_name', 'fqdn'), ('fully_qualified_domain_name', 'fqdn'), ('dns', 'fqdn'),
            ('ip', 'ip_address'), ('ip_addr', 'ip_address'), ('ipv4', 'ip_address'),
            ('ipv4_address', 'ip_address'), ('primary_ipv4', 'ip_address'),
            ('primary_ip', 'ip_address'), ('management_ip', 'ip_address'),
            ('mac', 'mac_address'),
            ('os', 'operating_system'), ('platform', 'operating_system'), ('os_name', 'operating_system'),
            ('ci_class', 'asset_type'), ('type', 'asset_type'), ('class', 'asset_type'),
            ('device_type', 'asset_type'), ('category', 'asset_type'), ('sys_class_name', 'asset_type'),
            ('ci_name', 'name'), ('display_name', 'name'), ('device_name', 'name'),
            ('vcpus', 'cpu_cores'), ('vcpu', 'cpu_cores'), ('cpus', 'cpu_cores'), ('cpu', 'cpu_cores'),
            ('cores', 'cpu_cores'), ('cpu_count', 'cpu_cores'), ('num_cpus', 'cpu_cores'),
            ('ram_gb', 'memory_gb'), ('memory', 'memory_gb'), ('ram', 'memory_gb'),
            ('disk_gb', 'storage_gb'), ('disk', 'storage_gb'), ('storage', 'storage_gb'),
            ('disk_size_gb', 'storage_gb'),
            ('env', 'environment'),
            ('site', 'location'), ('building', 'location'),
            ('data_center', 'datacenter'), ('dc', 'datacenter'),
            ('application', 'application_name'), ('app', 'application_name'),
            ('service', 'application_name'),
            ('owner', 'business_owner'), ('support_group', 'technical_owner'),
            ('dept', 'department'), ('cost_center', 'department'),
            ('priority', 'criticality'), ('business_criticality', 'criticality'), ('tier', 'criticality'),
            ('state', 'status'), ('operational_status', 'status')
    )
    , proposed AS (
        SELECT n.source_field, n.norm,
               CASE
                   WHEN n.norm = ANY (discovery._asset_columns()) THEN n.norm
                   WHEN s.target_field IS NOT NULL THEN s.target_field
               END AS column_target,
               CASE
                   WHEN n.norm = ANY (discovery._asset_columns()) THEN 1.000
                   WHEN s.target_field IS NOT NULL THEN 0.900
               END AS column_confidence
          FROM normalized AS n
          LEFT JOIN synonyms AS s ON s.norm = n.norm
    ),
    ranked AS (
        SELECT p.*,
               row_number() OVER (PARTITION BY p.column_target
                                  ORDER BY p.column_confidence DESC, p.source_field) AS rank
          FROM proposed AS p
    )
    SELECT r.source_field,
           CASE
               WHEN r.column_target IS NOT NULL AND r.rank = 1 THEN r.column_target
               WHEN r.norm = '' THEN 'unnamed_column'
               ELSE left(r.norm, 63)
           END,
           CASE WHEN r.column_target IS NOT NULL AND r.rank = 1 THEN r.column_confidence ELSE 0.300 END::numeric
      FROM ranked AS r
     ORDER BY r.source_field;
END
$function$
-- owner discovery_owner acl discovery_app=X/discovery_owner discovery_owner=X/discovery_owner
CREATE OR REPLACE FUNCTION discovery.undo_import(p_client_account_id uuid, p_engagement_id uuid, p_data_import_id uuid, p_dry_run boolean DEFAULT true)
 RETURNS jsonb
 LANGUAGE plpgsql
 SECURITY DEFINER
 SET search_path TO 'pg_catalog', 'pg_temp'
 SET jit TO 'off'
AS $function$
DECLARE
    v_import migration.data_imports;
    v_result jsonb;
BEGIN
    PERFORM discovery._assert_tenant(p_client_account_id, p_engagement_id);
    PERFORM discovery._assert_flag(p_dry_run, 'p_dry_run');
    v_import := discovery._data_import(p_client_account_id, p_engagement_id, p_data_import_id, TRUE);
    IF v_import.status = 'undone' THEN
        PERFORM discovery._raise(
            'WR008', 'the import was undone already', format('data_import_id=%s', p_data_import_id),
            'Nothing is left to take back; discovery.list_data_imports shows each import''s status.');
    END IF;
    BEGIN
        -- Taken in the block: a dry run lets it go when its writes roll back, so a
        -- caller that keeps its transaction open after a dry run holds no import of
        -- the tenant up. The import's row lock (above) stays: a concurrent undo of
        -- the same import waits for this transaction, dry run or not.
        PERFORM discovery._lock_tenant_assets(p_client_account_id, p_engagement_id);
        v_result := jsonb_build_object('dry_run', p_dry_run)
                    || discovery._undo_import(p_client_account_id, p_engagement_id, p_data_import_id);
        IF p_dry_run THEN
            -- Undo this block's writes; only this exact SQLSTATE is caught.
            RAISE EXCEPTION USING ERRCODE = 'WR900', MESSAGE = 'undo_import dry run';
        END IF;
    EXCEPTION
        WHEN SQLSTATE 'WR900' THEN
            NULL;
    END;
    PERFORM migration.check_settled_wiring(p_client_account_id);  -- see create_assets_from_discovery
    RETURN v_result;
END
$function$
-- owner discovery_owner acl discovery_app=X/discovery_owner discovery_owner=X/discovery_owner
CREATE OR REPLACE FUNCTION discovery.wiring_health(p_client_account_id uuid, p_engagement_id uuid, p_detail boolean DEFAULT false)
 RETURNS jsonb
 LANGUAGE plpgsql
 STABLE SECURITY DEFINER
 SET search_path TO 'pg_catalog', 'pg_temp'
 SET jit TO 'off'
AS $function$
DECLARE
    v_full boolean;
    v_report jsonb;
    v_quality jsonb;
    v_pending bigint;
    v_pending_sample uuid[];
BEGIN
    PERFORM discovery._assert_tenant(p_client_account_id, p_engagement_id);
    v_full := NOT discovery._tenant_verified(p_client_account_id, p_engagement_id);

    WITH kinds AS (
        SELECT k.kind, k.position
          FROM unnest(discovery._gap_kinds() || 'raw_records_pending'::text) WITH ORDINALITY AS k (kind, position)
    ),
    per_kind AS (
        SELECT k.kind, k.position,
               count(g.object_id) AS n,
               coalesce((array_agg(g.object_id ORDER BY g.object_id)
                             FILTER (WHERE g.object_id IS NOT NULL))[1:10], '{}') AS sample
          FROM kinds AS k
          LEFT JOIN discovery._wiring_gaps(p_client_account_id, p_engagement_id, v_full) AS g
            ON g.gap = k.kind
         GROUP BY k.kind, k.position
    )
    SELECT jsonb_object_agg(p.kind, p.n)
           || jsonb_build_object(
                  'health_status',
                  CASE WHEN sum(p.n) FILTER (WHERE p.kind <> 'raw_records_pending') = 0
                       THEN 'healthy' ELSE 'unhealthy' END,
                  'tenant', jsonb_build_object('client_account_id', p_client_account_id,
                                               'engagement_id', p_engagement_id),
                  'checked', CASE WHEN v_full THEN 'every row (a restore wrote this tenant; repair_wiring '
                                                   'verifies it)' ELSE 'where gaps can be' END)
           || CASE WHEN p_detail
                   THEN jsonb_build_object('samples', jsonb_object_agg(p.kind, to_jsonb(p.sample)))
                   ELSE '{}'::jsonb END
      INTO v_report
      FROM per_kind AS p;

    IF NOT v_full THEN
        -- not listed by the fast path: the records no run covered yet, from the counters
        SELECT coalesce(sum(c.records), 0) - (v_report ->> 'raw_records_missing_asset_id')::bigint INTO v_pending
          FROM migration.record_counts AS c
         WHERE c.client_account_id = p_client_account_id
           AND c.engagement_id = p_engagement_id
           AND c.outcome = 'pending';
        v_report := v_report || jsonb_build_object('raw_records_pending', v_pending);
        IF p_detail THEN
            SELECT coalesce(array_agg(s.id), '{}') INTO v_pending_sample
              FROM (SELECT r.id
                      FROM migration.raw_import_records AS r
                      LEFT JOIN migration.discovery_flows AS f
                        ON f.client_account_id = r.client_account_id
                       AND f.data_import_id = r.data_import_id
                     WHERE r.client_account_id = p_client_account_id
                       AND r.engagement_id = p_engagement_id
                       AND NOT r.is_processed
                       AND r.row_number > coalesce(f.inventory_watermark, 0)
                     LIMIT 10) AS s;
            v_report := jsonb_set(v_report, '{samples,raw_records_pending}', to_jsonb(v_pending_sample));
        END IF;
    END IF;

    SELECT jsonb_build_object(
               'records_invalid', coalesce(sum(c.records) FILTER (WHERE c.outcome = 'invalid'), 0),
               'records_with_warnings', coalesce(sum(c.records) FILTER (WHERE c.with_warnings
                                                                         AND c.outcome <> 'discarded'), 0),
               'conflicts_pending', coalesce(sum(c.records) FILTER (WHERE c.outcome = 'conflict'), 0),
               'unmapped_columns', (
                   SELECT count(DISTINCT m.source_field)
                     FROM migration.import_field_mappings AS m
                     JOIN migration.data_imports AS i
                       ON i.client_account_id = m.client_account_id
                      AND i.id = m.data_import_id
                    WHERE m.client_account_id = p_client_account_id
                      AND m.engagement_id = p_engagement_id
                      AND i.status <> 'undone'
                      AND m.status = 'approved'
                      AND NOT (m.target_field = ANY (discovery._asset_columns()))
                      AND m.target_field NOT LIKE 'external\_ids._%'))
      INTO v_quality
      FROM migration.record_counts AS c
     WHERE c.client_account_id = p_client_account_id
       AND c.engagement_id = p_engagement_id;
    RETURN v_report || jsonb_build_object('import_quality', v_quality);
END
$function$
-- owner discovery_owner acl discovery_app=X/discovery_owner discovery_owner=X/discovery_owner
CREATE OR REPLACE FUNCTION migration.asset_counts_after_write()
 RETURNS trigger
 LANGUAGE plpgsql
 SECURITY DEFINER
 SET search_path TO 'pg_catalog', 'pg_temp'
AS $function$
DECLARE
    v_after jsonb := '[]';
    v_before jsonb := '[]';
BEGIN
    IF TG_OP = 'TRUNCATE' THEN
        DELETE FROM migration.asset_counts;
        RETURN NULL;
    END IF;
    IF TG_OP IN ('INSERT', 'UPDATE') THEN
        SELECT coalesce(jsonb_agg(g), '[]') INTO v_after
          FROM (SELECT n.client_account_id, n.engagement_id, n.discovery_flow_id, n.asset_type, n.status,
                       count(*) AS n
                  FROM new_rows AS n
                 WHERE n.deleted_at IS NULL
                 GROUP BY 1, 2, 3, 4, 5) AS g;
    END IF;
    IF TG_OP IN ('UPDATE', 'DELETE') THEN
        SELECT coalesce(jsonb_agg(g), '[]') INTO v_before
          FROM (SELECT o.client_account_id, o.engagement_id, o.discovery_flow_id, o.asset_type, o.status,
                       -count(*) AS n
                  FROM old_rows AS o
                 WHERE o.deleted_at IS NULL
                 GROUP BY 1, 2, 3, 4, 5) AS g;
    END IF;
    INSERT INTO migration.asset_counts AS c (
        client_account_id, engagement_id, discovery_flow_id, asset_type_key, status_key, live
    )
    SELECT d.client_account_id, d.engagement_id,
           coalesce(d.discovery_flow_id, '00000000-0000-0000-0000-000000000000'::uuid),
           left(coalesce(d.asset_type, ''), 200), left(d.status, 200), sum(d.n)
      FROM jsonb_to_recordset(v_after || v_before) AS d (
               client_account_id uuid, engagement_id uuid, discovery_flow_id uuid, asset_type text,
               status text, n bigint)
     GROUP BY 1, 2, 3, 4, 5
    HAVING sum(d.n) <> 0
    ON CONFLICT (client_account_id, engagement_id, discovery_flow_id, asset_type_key, status_key)
    DO UPDATE SET live = c.live + excluded.live;
    RETURN NULL;
END
$function$
-- owner discovery_owner acl discovery_owner=X/discovery_owner
CREATE OR REPLACE FUNCTION migration.assets_check_inserted()
 RETURNS trigger
 LANGUAGE plpgsql
 SECURITY DEFINER
 SET search_path TO 'pg_catalog', 'pg_temp'
 SET plan_cache_mode TO 'force_custom_plan'
AS $function$
DECLARE
    v_tenant uuid;
    v_ids uuid[];
    v_wired uuid[];
    v_unwired uuid[];
BEGIN
    -- one pass per tenant in the statement (an API call writes one)
    FOR v_tenant IN
        SELECT DISTINCT i.client_account_id FROM inserted AS i WHERE i.discovery_method = 'flow_based'
    LOOP
        SELECT array_agg(i.id)
          INTO v_ids
          FROM inserted AS i
         WHERE i.client_account_id = v_tenant
           AND i.discovery_method = 'flow_based';
        v_wired := migration.wired_assets(v_tenant, v_ids);
        SELECT array_agg(u.id)
          INTO v_unwired
          FROM unnest(v_ids) AS u (id)
         WHERE u.id <> ALL (v_wired);
        IF v_unwired IS NOT NULL THEN
            PERFORM migration.note_must_be_wired_all(v_tenant, v_unwired);
        END IF;
    END LOOP;
    RETURN NULL;
END
$function$
-- owner discovery_owner acl discovery_owner=X/discovery_owner
CREATE OR REPLACE FUNCTION migration.assets_note_wired()
 RETURNS trigger
 LANGUAGE plpgsql
 SECURITY DEFINER
 SET search_path TO 'pg_catalog', 'pg_temp'
AS $function$
BEGIN
    IF NEW.deleted_at IS NULL
       AND ((OLD.discovery_method = 'flow_based'
             AND migration.wiring_problem(OLD.client_account_id, OLD.engagement_id, OLD.id, OLD.discovery_method,
                                          OLD.discovery_flow_id, OLD.master_flow_id, OLD.raw_import_records_id)
                 IS NULL)
            OR (OLD.deleted_at IS NOT NULL AND NEW.discovery_method = 'flow_based')) THEN
        PERFORM migration.note_must_be_wired(OLD.client_account_id, OLD.id);
    END IF;
    RETURN NEW;
END
$function$
-- owner discovery_owner acl discovery_owner=X/discovery_owner
CREATE OR REPLACE FUNCTION migration.assets_reject_legacy_flow_id()
 RETURNS trigger
 LANGUAGE plpgsql
 SECURITY DEFINER
 SET search_path TO 'pg_catalog', 'pg_temp'
AS $function$
BEGIN
    RAISE EXCEPTION 'assets.flow_id is legacy and may not be written'
        USING ERRCODE = 'check_violation',
              CONSTRAINT = 'assets_legacy_flow_id_read_only',
              SCHEMA = 'migration',
              TABLE = 'assets',
              DETAIL = format('asset_id=%s flow_id=%s', NEW.id, NEW.flow_id),
              HINT = 'Set discovery_flow_id (a discovery_flows.id) and master_flow_id instead.';
END
$function$
-- owner discovery_owner acl discovery_owner=X/discovery_owner
CREATE OR REPLACE FUNCTION migration.check_noted_wiring()
 RETURNS trigger
 LANGUAGE plpgsql
 SECURITY DEFINER
 SET search_path TO 'pg_catalog', 'pg_temp'
 SET plan_cache_mode TO 'force_custom_plan'
AS $function$
DECLARE
    v_tenant uuid := NEW.client_account_id;
    v_xid xid8 := NEW.transaction_id;
    v_live_notes bigint;
    v_noted uuid[];
    v_wired uuid[];
    v_asset record;
    v_problem text;
BEGIN
    DELETE FROM migration.wiring_checks_pending AS p
     WHERE p.client_account_id = v_tenant
       AND p.transaction_id = v_xid
    RETURNING p.live_notes INTO v_live_notes;
    -- no pending row: an earlier check of this transaction saw every note;
    -- a count of zero: nothing to read; no count (NULL): read the notes
    IF NOT FOUND OR v_live_notes = 0 THEN
        RETURN NULL;
    END IF;
    WITH forgotten AS (
        DELETE FROM migration.assets_wired_in_transaction AS w
         WHERE w.client_account_id = v_tenant
           AND w.transaction_id = v_xid
        RETURNING w.asset_id
    )
    SELECT array_agg(f.asset_id) INTO v_noted FROM forgotten AS f;
    IF v_noted IS NULL THEN
        RETURN NULL;
    END IF;
    v_wired := migration.wired_assets(v_tenant, v_noted);
    -- the first live noted asset that is not wired (wired ones, and deleted
    -- or soft-deleted ones, leave no unwired live asset behind)
    SELECT a.client_account_id, a.engagement_id, a.id, a.discovery_method, a.discovery_flow_id,
           a.master_flow_id, a.raw_import_records_id
      INTO v_asset
      FROM unnest(v_noted) AS u (id)
     CROSS JOIN LATERAL (
           SELECT a.client_account_id, a.engagement_id, a.id, a.discovery_method, a.discovery_flow_id,
                  a.master_flow_id, a.raw_import_records_id
             FROM migration.assets AS a
            WHERE a.client_account_id = v_tenant
              AND a.id = u.id
              AND a.client_account_id OPERATOR(migration.===) v_tenant
              AND a.deleted_at IS NULL
           OFFSET 0
       ) AS a
     WHERE u.id <> ALL (v_wired)
     ORDER BY a.id
     LIMIT 1;
    IF NOT FOUND THEN
        RETURN NULL;
    END IF;
    IF v_asset.discovery_method IS DISTINCT FROM 'flow_based' THEN
        v_problem := 'a wired flow-based asset cannot stop being flow-based';
    ELSE
        v_problem := migration.wiring_problem(
            v_asset.client_account_id, v_asset.engagement_id, v_asset.id, v_asset.discovery_method,
            v_asset.discovery_flow_id, v_asset.master_flow_id, v_asset.raw_import_records_id);
    END IF;
    RAISE EXCEPTION 'flow-based asset % is not wired: %', v_asset.id, v_problem
        USING ERRCODE = 'check_violation',
              CONSTRAINT = 'assets_flow_based_wired',
              SCHEMA = 'migration',
              TABLE = 'assets',
              DETAIL = format('client_account_id=%s engagement_id=%s asset_id=%s discovery_flow_id=%s '
                              'master_flow_id=%s raw_import_records_id=%s',
                              v_asset.client_account_id, v_asset.engagement_id, v_asset.id,
                              v_asset.discovery_flow_id, v_asset.master_flow_id,
                              v_asset.raw_import_records_id),
              HINT = 'Create flow-based assets with discovery.create_assets_from_discovery, or set '
                     'discovery_flow_id, master_flow_id, raw_import_records_id and the raw record''s '
                     'asset_id in the same transaction; repair legacy rows with discovery.repair_wiring.';
END
$function$
-- owner discovery_owner acl discovery_owner=X/discovery_owner
CREATE OR REPLACE FUNCTION migration.check_settled_wiring(p_client_account_id uuid)
 RETURNS void
 LANGUAGE plpgsql
 SECURITY DEFINER
 SET search_path TO 'pg_catalog', 'pg_temp'
AS $function$
DECLARE
    v_table oid;
    v_constraint text;
BEGIN
    IF pg_catalog.current_setting('discovery_wiring.noted_tenants', TRUE)
       IS DISTINCT FROM p_client_account_id::text || ' ' THEN
        RETURN;
    END IF;
    -- the table the check is queued on: on a Citus worker, the tenant's shard
    SELECT p.tableoid
      INTO v_table
      FROM migration.wiring_checks_pending AS p
     WHERE p.client_account_id = p_client_account_id
       AND p.transaction_id = pg_catalog.pg_current_xact_id()
       AND p.live_notes = 0;
    IF NOT FOUND THEN
        RETURN;
    END IF;
    SELECT pg_catalog.quote_ident(c.conname)
      INTO STRICT v_constraint
      FROM pg_catalog.pg_constraint AS c
     WHERE c.conrelid = v_table
       AND c.contype = 't'
       AND c.conname LIKE 'assets\_flow\_based\_wired%';
    EXECUTE 'SET CONSTRAINTS migration.' || v_constraint || ' IMMEDIATE';
    EXECUTE 'SET CONSTRAINTS migration.' || v_constraint || ' DEFERRED';
END
$function$
-- owner discovery_owner acl discovery_owner=X/discovery_owner
CREATE OR REPLACE FUNCTION migration.forget_wired(p_client_account_id uuid, p_asset_ids uuid[])
 RETURNS void
 LANGUAGE plpgsql
 SECURITY DEFINER
 SET search_path TO 'pg_catalog', 'pg_temp'
 SET plan_cache_mode TO 'force_custom_plan'
AS $function$
DECLARE
    v_xid xid8 := pg_catalog.pg_current_xact_id();
    v_noted uuid[];
    v_forgotten bigint;
BEGIN
    SELECT array_agg(w.asset_id)
      INTO v_noted
      FROM migration.assets_wired_in_transaction AS w
     WHERE w.client_account_id = p_client_account_id
       AND w.transaction_id = v_xid
       AND w.asset_id = ANY (p_asset_ids);
    IF v_noted IS NULL THEN
        RETURN;
    END IF;
    v_noted := migration.wired_assets(p_client_account_id, v_noted);
    DELETE FROM migration.assets_wired_in_transaction AS w
     WHERE w.client_account_id = p_client_account_id
       AND w.transaction_id = v_xid
       AND w.asset_id = ANY (v_noted);
    GET DIAGNOSTICS v_forgotten = ROW_COUNT;
    IF v_forgotten > 0 THEN
        UPDATE migration.wiring_checks_pending AS p
           SET live_notes = p.live_notes - v_forgotten
         WHERE p.client_account_id = p_client_account_id
           AND p.transaction_id = v_xid;
    END IF;
END
$function$
-- owner discovery_owner acl discovery_owner=X/discovery_owner
CREATE OR REPLACE FUNCTION migration.fqdn_key(p_fqdn text)
 RETURNS text
 LANGUAGE sql
 IMMUTABLE PARALLEL SAFE
RETURN NULLIF(rtrim(migration.identity_text(p_fqdn), '.'::text), ''::text)
-- owner discovery_owner acl discovery_owner=X/discovery_owner
CREATE OR REPLACE FUNCTION migration.has_warnings(p_validation_errors jsonb)
 RETURNS boolean
 LANGUAGE sql
 IMMUTABLE PARALLEL SAFE
RETURN COALESCE(((jsonb_typeof(p_validation_errors) = 'array'::text) AND (p_validation_errors @> '[{"severity": "warning"}]'::jsonb)), false)
-- owner discovery_owner acl discovery_owner=X/discovery_owner
CREATE OR REPLACE FUNCTION migration.identity_text(p_value text)
 RETURNS text
 LANGUAGE sql
 IMMUTABLE PARALLEL SAFE
RETURN NULLIF("left"(lower(btrim(CASE WHEN (octet_length(p_value) = length(p_value)) THEN p_value ELSE NORMALIZE(translate(p_value, '­​‌‍⁠﻿'::text, ''::text), NFKC) END, (' 	
\u000d\u000b\u000c\u0085  ᠎       '::text || '    ​‌‍\u2028\u2029  ⁠　﻿'::text))), 500), ''::text)
-- owner discovery_owner acl discovery_owner=X/discovery_owner
CREATE OR REPLACE FUNCTION migration.ip_key(p_value text)
 RETURNS inet
 LANGUAGE plpgsql
 IMMUTABLE PARALLEL SAFE STRICT
AS $function$
DECLARE
    v_ip inet;
BEGIN
    p_value := btrim(p_value);
    IF NOT migration.is_ip_address(p_value) THEN
        RETURN NULL;
    END IF;
    v_ip := p_value::inet;
    IF v_ip << '::ffff:0.0.0.0/96'::inet THEN
        RETURN '0.0.0.0'::inet + (v_ip - '::ffff:0.0.0.0'::inet);
    END IF;
    RETURN v_ip;
END
$function$
-- owner discovery_owner acl discovery_owner=X/discovery_owner
CREATE OR REPLACE FUNCTION migration.is_ip_address(p_value text)
 RETURNS boolean
 LANGUAGE plpgsql
 IMMUTABLE PARALLEL SAFE STRICT
AS $function$
DECLARE
    v_tail text;
BEGIN
    IF p_value ~ '^[0-9]{1,3}\.[0-9]{1,3}\.[0-9]{1,3}\.[0-9]{1,3}$' THEN
        RETURN split_part(p_value, '.', 1)::integer <= 255 AND split_part(p_value, '.', 2)::integer <= 255
           AND split_part(p_value, '.', 3)::integer <= 255 AND split_part(p_value, '.', 4)::integer <= 255;
    END IF;
    IF strpos(p_value, ':') = 0 OR p_value !~* '^[0-9a-f:.]{2,45}$' THEN
        RETURN false;
    END IF;
    IF strpos(p_value, '.') > 0 THEN
        v_tail := substring(p_value FROM '[^:]*$');
        IF NOT migration.is_ip_address(v_tail) OR strpos(v_tail, ':') > 0 THEN
            RETURN false;
        END IF;
        p_value := left(p_value, length(p_value) - length(v_tail)) || '0:0';
    END IF;
    RETURN p_value ~* ('^('
        '([0-9a-f]{1,4}:){7}[0-9a-f]{1,4}'
        '|([0-9a-f]{1,4}:){1,7}:'
        '|([0-9a-f]{1,4}:){1,6}:[0-9a-f]{1,4}'
        '|([0-9a-f]{1,4}:){1,5}(:[0-9a-f]{1,4}){1,2}'
        '|([0-9a-f]{1,4}:){1,4}(:[0-9a-f]{1,4}){1,3}'
        '|([0-9a-f]{1,4}:){1,3}(:[0-9a-f]{1,4}){1,4}'
        '|([0-9a-f]{1,4}:){1,2}(:[0-9a-f]{1,4}){1,5}'
        '|[0-9a-f]{1,4}:(:[0-9a-f]{1,4}){1,6}'
        '|:((:[0-9a-f]{1,4}){1,7}|:)'
        ')$');
END
$function$
-- owner discovery_owner acl discovery_owner=X/discovery_owner
CREATE OR REPLACE FUNCTION migration.note_must_be_wired(p_client_account_id uuid, p_asset_id uuid)
 RETURNS void
 LANGUAGE plpgsql
 SECURITY DEFINER
 SET search_path TO 'pg_catalog', 'pg_temp'
AS $function$
DECLARE
    v_xid xid8 := pg_catalog.pg_current_xact_id();
    v_tenants text := coalesce(pg_catalog.current_setting('discovery_wiring.noted_tenants', TRUE), '');
BEGIN
    INSERT INTO migration.assets_wired_in_transaction (client_account_id, transaction_id, asset_id)
    VALUES (p_client_account_id, v_xid, p_asset_id)
    ON CONFLICT DO NOTHING;
    INSERT INTO migration.wiring_checks_pending AS p (client_account_id, transaction_id, live_notes)
    VALUES (p_client_account_id, v_xid, NULL)
    ON CONFLICT (client_account_id, transaction_id)
    DO UPDATE SET live_notes = NULL
        WHERE p.live_notes IS NOT NULL;
    IF strpos(v_tenants, p_client_account_id::text) = 0 THEN
        PERFORM pg_catalog.set_config('discovery_wiring.noted_tenants',
                                      v_tenants || p_client_account_id::text || ' ', TRUE);
    END IF;
END
$function$
-- owner discovery_owner acl discovery_owner=X/discovery_owner
CREATE OR REPLACE FUNCTION migration.note_must_be_wired_all(p_client_account_id uuid, p_asset_ids uuid[])
 RETURNS void
 LANGUAGE plpgsql
 SECURITY DEFINER
 SET search_path TO 'pg_catalog', 'pg_temp'
 SET plan_cache_mode TO 'force_custom_plan'
AS $function$
DECLARE
    v_xid xid8 := pg_catalog.pg_current_xact_id();
    v_noted bigint;
    v_tenants text := coalesce(pg_catalog.current_setting('discovery_wiring.noted_tenants', TRUE), '');
BEGIN
    INSERT INTO migration.assets_wired_in_transaction (client_account_id, transaction_id, asset_id)
    SELECT p_client_account_id, v_xid, u.id
      FROM unnest(p_asset_ids) AS u (id)
     WHERE u.id IS NOT NULL
    ON CONFLICT DO NOTHING;
    GET DIAGNOSTICS v_noted = ROW_COUNT;
    INSERT INTO migration.wiring_checks_pending AS p (client_account_id, transaction_id, live_notes)
    VALUES (p_client_account_id, v_xid, v_noted)
    ON CONFLICT (client_account_id, transaction_id)
    DO UPDATE SET live_notes = p.live_notes + excluded.live_notes;
    IF strpos(v_tenants, p_client_account_id::text) = 0 THEN
        PERFORM pg_catalog.set_config('discovery_wiring.noted_tenants',
                                      v_tenants || p_client_account_id::text || ' ', TRUE);
    END IF;
END
$function$
-- owner discovery_owner acl discovery_owner=X/discovery_owner
CREATE OR REPLACE FUNCTION migration.note_replica_write()
 RETURNS trigger
 LANGUAGE plpgsql
 SECURITY DEFINER
 SET search_path TO 'pg_catalog', 'pg_temp'
AS $function$
BEGIN
    IF TG_OP = 'DELETE' THEN
        INSERT INTO migration.tenants_unverified (client_account_id, engagement_id)
        VALUES (OLD.client_account_id, OLD.engagement_id)
        ON CONFLICT DO NOTHING;
    ELSE
        INSERT INTO migration.tenants_unverified (client_account_id, engagement_id)
        VALUES (NEW.client_account_id, NEW.engagement_id)
        ON CONFLICT DO NOTHING;
    END IF;
    RETURN NULL;
END
$function$
-- owner discovery_owner acl discovery_owner=X/discovery_owner
CREATE OR REPLACE FUNCTION migration.raw_import_records_forget_wired()
 RETURNS trigger
 LANGUAGE plpgsql
 SECURITY DEFINER
 SET search_path TO 'pg_catalog', 'pg_temp'
AS $function$
DECLARE
    v_xid xid8 := pg_catalog.pg_current_xact_id();
    v_tenant uuid;
    v_ids uuid[];
BEGIN
    FOR v_tenant IN
        SELECT DISTINCT u.client_account_id FROM updated AS u WHERE u.asset_id IS NOT NULL
    LOOP
        -- nothing noted for the tenant in this transaction: nothing to forget
        CONTINUE WHEN NOT EXISTS (SELECT FROM migration.wiring_checks_pending AS p
                                   WHERE p.client_account_id = v_tenant
                                     AND p.transaction_id = v_xid);
        SELECT array_agg(DISTINCT u.asset_id)
          INTO v_ids
          FROM updated AS u
         WHERE u.client_account_id = v_tenant
           AND u.asset_id IS NOT NULL;
        PERFORM migration.forget_wired(v_tenant, v_ids);
    END LOOP;
    RETURN NULL;
END
$function$
-- owner discovery_owner acl discovery_owner=X/discovery_owner
CREATE OR REPLACE FUNCTION migration.raw_import_records_note_wired()
 RETURNS trigger
 LANGUAGE plpgsql
 SECURITY DEFINER
 SET search_path TO 'pg_catalog', 'pg_temp'
AS $function$
DECLARE
    v_asset record;
BEGIN
    SELECT a.client_account_id, a.engagement_id, a.id, a.discovery_method, a.discovery_flow_id,
           a.master_flow_id, a.raw_import_records_id
      INTO v_asset
      FROM migration.assets AS a
     WHERE a.client_account_id = OLD.client_account_id
       AND a.id = OLD.asset_id
       AND a.deleted_at IS NULL;
    IF FOUND AND v_asset.engagement_id = OLD.engagement_id AND v_asset.raw_import_records_id = OLD.id
       AND v_asset.discovery_method = 'flow_based'
       AND migration.wiring_problem(v_asset.client_account_id, v_asset.engagement_id, v_asset.id,
                                    v_asset.discovery_method, v_asset.discovery_flow_id, v_asset.master_flow_id,
                                    v_asset.raw_import_records_id) IS NULL THEN
        PERFORM migration.note_must_be_wired(v_asset.client_account_id, v_asset.id);
    END IF;
    RETURN CASE WHEN TG_OP = 'DELETE' THEN OLD ELSE NEW END;
END
$function$
-- owner discovery_owner acl discovery_owner=X/discovery_owner
CREATE OR REPLACE FUNCTION migration.record_counts_after_write()
 RETURNS trigger
 LANGUAGE plpgsql
 SECURITY DEFINER
 SET search_path TO 'pg_catalog', 'pg_temp'
AS $function$
DECLARE
    v_after jsonb := '[]';
    v_before jsonb := '[]';
BEGIN
    IF TG_OP = 'TRUNCATE' THEN
        DELETE FROM migration.record_counts;
        RETURN NULL;
    END IF;
    IF TG_OP IN ('INSERT', 'UPDATE') THEN
        SELECT coalesce(jsonb_agg(g), '[]') INTO v_after
          FROM (SELECT n.client_account_id, n.engagement_id, n.data_import_id,
                       migration.record_outcome(n.processing_status, n.is_processed) AS outcome,
                       migration.has_warnings(n.validation_errors) AS with_warnings, count(*) AS n
                  FROM new_rows AS n
                 GROUP BY 1, 2, 3, 4, 5) AS g;
    END IF;
    IF TG_OP IN ('UPDATE', 'DELETE') THEN
        SELECT coalesce(jsonb_agg(g), '[]') INTO v_before
          FROM (SELECT o.client_account_id, o.engagement_id, o.data_import_id,
                       migration.record_outcome(o.processing_status, o.is_processed) AS outcome,
                       migration.has_warnings(o.validation_errors) AS with_warnings, -count(*) AS n
                  FROM old_rows AS o
                 GROUP BY 1, 2, 3, 4, 5) AS g;
    END IF;
    INSERT INTO migration.record_counts AS c (
        client_account_id, engagement_id, data_import_id, outcome, with_warnings, records
    )
    SELECT d.client_account_id, d.engagement_id, d.data_import_id, d.outcome, d.with_warnings, sum(d.n)
      FROM jsonb_to_recordset(v_after || v_before) AS d (
               client_account_id uuid, engagement_id uuid, data_import_id uuid, outcome text,
               with_warnings boolean, n bigint)
     GROUP BY 1, 2, 3, 4, 5
    HAVING sum(d.n) <> 0
    ON CONFLICT (client_account_id, engagement_id, data_import_id, outcome, with_warnings)
    DO UPDATE SET records = c.records + excluded.records;
    RETURN NULL;
END
$function$
-- owner discovery_owner acl discovery_owner=X/discovery_owner
CREATE OR REPLACE FUNCTION migration.record_outcome(p_processing_status text, p_is_processed boolean)
 RETURNS text
 LANGUAGE sql
 IMMUTABLE PARALLEL SAFE
RETURN COALESCE(p_processing_status, CASE WHEN p_is_processed THEN 'processed'::text ELSE 'pending'::text END)
-- owner discovery_owner acl discovery_owner=X/discovery_owner
CREATE OR REPLACE FUNCTION migration.short_name_key(p_hostname text, p_fqdn text)
 RETURNS text
 LANGUAGE plpgsql
 IMMUTABLE PARALLEL SAFE
AS $function$
DECLARE
    v_name text := coalesce(migration.fqdn_key(p_hostname), migration.fqdn_key(p_fqdn));
BEGIN
    IF strpos(v_name, '.') = 0 OR strpos(v_name, ':') > 0 OR migration.is_ip_address(v_name) THEN
        RETURN v_name;
    END IF;
    RETURN nullif(split_part(v_name, '.', 1), '');
END
$function$
-- owner discovery_owner acl discovery_owner=X/discovery_owner
CREATE OR REPLACE FUNCTION migration.uuid_v7()
 RETURNS uuid
 LANGUAGE sql
 PARALLEL SAFE
RETURN (encode(set_bit(set_bit((SUBSTRING(int8send((floor((EXTRACT(epoch FROM clock_timestamp()) * (1000)::numeric)))::bigint) FROM 3) || SUBSTRING(uuid_send(gen_random_uuid()) FROM 7)), (52)::bigint, 1), (53)::bigint, 1), 'hex'::text))::uuid
-- owner discovery_owner acl discovery_owner=X/discovery_owner
CREATE OR REPLACE FUNCTION migration.wired_assets(p_client_account_id uuid, p_asset_ids uuid[])
 RETURNS uuid[]
 LANGUAGE plpgsql
 STABLE SECURITY DEFINER
 SET search_path TO 'pg_catalog', 'pg_temp'
 SET plan_cache_mode TO 'force_custom_plan'
AS $function$
DECLARE
    v_wired uuid[];
BEGIN
    SELECT array_agg(w.id)
      INTO v_wired
      FROM unnest(p_asset_ids) AS u (id)
     CROSS JOIN LATERAL (
           SELECT a.id
             FROM migration.assets AS a
            WHERE a.client_account_id = p_client_account_id
              AND a.id = u.id
              AND a.client_account_id OPERATOR(migration.===) p_client_account_id
              AND a.discovery_method = 'flow_based'
              AND coalesce((
                  SELECT f.engagement_id = a.engagement_id AND f.master_flow_id = a.master_flow_id
                    FROM migration.discovery_flows AS f
                   WHERE f.client_account_id = a.client_account_id
                     AND f.id = a.discovery_flow_id
                     AND f.client_account_id OPERATOR(migration.===) p_client_account_id), FALSE)
              AND coalesce((
                  SELECT r.engagement_id = a.engagement_id AND r.asset_id = a.id
                    FROM migration.raw_import_records AS r
                   WHERE r.client_account_id = a.client_account_id
                     AND r.id = a.raw_import_records_id
                     AND r.client_account_id OPERATOR(migration.===) p_client_account_id), FALSE)
           OFFSET 0
       ) AS w;
    RETURN coalesce(v_wired, '{}');
END
$function$
-- owner discovery_owner acl discovery_owner=X/discovery_owner
CREATE OR REPLACE FUNCTION migration.wiring_problem(p_client_account_id uuid, p_engagement_id uuid, p_asset_id uuid, p_discovery_method text, p_discovery_flow_id uuid, p_master_flow_id uuid, p_raw_import_records_id uuid)
 RETURNS text
 LANGUAGE plpgsql
 STABLE SECURITY DEFINER
 SET search_path TO 'pg_catalog', 'pg_temp'
AS $function$
DECLARE
    v_flow_master_flow_id uuid;
    v_raw_asset_id uuid;
    v_engagement_id uuid;
BEGIN
    IF p_discovery_method IS DISTINCT FROM 'flow_based' THEN
        RETURN NULL;
    END IF;
    IF p_discovery_flow_id IS NULL THEN
        RETURN 'discovery_flow_id is null';
    END IF;
    -- Each lookup names exactly the primary key and compares the engagement
    -- afterwards: with statistics that do not know the tenant yet, a
    -- condition on (client_account_id, engagement_id) ties with the primary
    -- key and the planner may scan the tenant's listing index instead.
    SELECT f.master_flow_id, f.engagement_id INTO v_flow_master_flow_id, v_engagement_id
      FROM migration.discovery_flows AS f
     WHERE f.client_account_id = p_client_account_id
       AND f.id = p_discovery_flow_id;
    IF NOT FOUND OR v_engagement_id IS DISTINCT FROM p_engagement_id THEN
        RETURN 'discovery_flow_id names no discovery flow of its tenant';
    END IF;
    IF p_master_flow_id IS DISTINCT FROM v_flow_master_flow_id THEN
        RETURN 'master_flow_id differs from its discovery flow''s';
    END IF;
    IF p_raw_import_records_id IS NULL THEN
        RETURN 'raw_import_records_id is null';
    END IF;
    SELECT r.asset_id, r.engagement_id INTO v_raw_asset_id, v_engagement_id
      FROM migration.raw_import_records AS r
     WHERE r.client_account_id = p_client_account_id
       AND r.id = p_raw_import_records_id;
    IF NOT FOUND OR v_engagement_id IS DISTINCT FROM p_engagement_id THEN
        RETURN 'raw_import_records_id names no raw record of its tenant';
    END IF;
    IF v_raw_asset_id IS DISTINCT FROM p_asset_id THEN
        RETURN 'its raw record''s asset_id does not point back to it';
    END IF;
    RETURN NULL;
END
$function$
-- owner discovery_owner acl discovery_owner=X/discovery_owner

-- comments
comment on discovery._apply_changes_sql(text,text,text,text,text): SQL text of the CTEs that write field changes to existing assets, shared by
create_assets_from_discovery (a run's matched records) and
resolve_asset_conflict / undo_import (one asset): from a CTE named
"changes" with columns asset_id, field, old_value, new_value,
raw_import_record_id (field: an asset column, custom_attributes.<key> or
external_ids.<namespace>), it builds
  patches    one row per asset: its column, custom attribute and external
             ID values;
  refreshed  the UPDATE of those assets (every field column through
             jsonb_populate_record, discovery._asset_set_sql; OFFSET 0
             keeps that subquery from being pulled up into the UPDATE,
             where Citus refuses a STABLE function of a column);
  logged     one migration.asset_changes row per changed value.
The arguments are SQL expressions for the tenant, the time, the run and the
conflict (for instance '$1' or 'NULL::uuid'). A custom attribute or
external ID whose new value is JSON null is removed. The assets are found
by primary key from the materialised patches, the tenant taken from the
patches' own column (dw_client_account_id) and the constant only pinning
it (migration.===, for Citus, which routes the UPDATE to the tenant's
shard by it). With the constant as the assets' index condition, a planner
whose statistics do not know the tenant estimated it at one row and walked
the tenant's assets, probing every patch for each (86,814 assets x 3,651
patches on a tenant's second import).
comment on discovery._approved_mappings(uuid,uuid): The import's approved mappings as the asset records them
(field_mappings_used): {source_field: target_field}.
comment on discovery._assert_flag(boolean,text): WR006 unless a boolean argument is true or false: a null p_dry_run must
never mean a real run.
comment on discovery._assert_payload(jsonb,text): WR005 unless p_payload is a JSON array of at most 50,000 objects.
comment on discovery._assert_supplied_assets(uuid,uuid,uuid,uuid,jsonb): Checks create_assets_from_discovery's p_assets: a JSON array of objects
(WR005), each with a raw_import_record_id that is a UUID, once (WR005), of a
record of the flow's import (WR004) that is neither waiting in a pending
conflict nor discarded (WR008).
comment on discovery._assert_tenant(uuid,uuid): WR001 unless the client account and engagement are registered together.
comment on discovery._asset_columns(): The asset columns a record's fields fill (DESIGN.md, "Field mapping"). A
field with another name is a custom attribute; external_ids holds the
external IDs. This list is the one definition of "an asset from fields":
discovery._asset_values_sql builds a new asset from it, and
discovery._asset_set_sql updates an asset's fields from it.
comment on discovery._asset_set_sql(text): SQL text of an UPDATE's SET list that writes every field column of an
asset from the row expression p_row (a migration.assets row, e.g.
jsonb_populate_record(a, patch)): "name = (p_row).name, …", from
discovery._asset_columns.
comment on discovery._asset_values_sql(text,jsonb,text): SQL text of the column list and the values of a new asset, the one place
where "an asset from a record's fields" is spelled out for an INSERT:
"(col, …) SELECT expr, …" where each field column of discovery._asset_columns
is read from the jsonb expression p_fields and cast to the column's type
(a value that is not of that type is null: the cleansing already made
every value fit, and a field stored by other means must not fail a batch),
name falls back to asset_name, hostname, fqdn, ip_address; status defaults
to active; custom_attributes are the fields that are no column; and the
columns of p_fixed ({column: SQL expression}: tenant, ID, flow links,
discovery method, times) are taken from it. p_from is the FROM clause.
comment on discovery._cleansing_sql(jsonb,text[],jsonb,text): The cleansing of a batch, as SQL built once per call (DESIGN.md, "Field
mapping", "Source profiles", "Outcomes"). p_input is a query whose rows
carry a jsonb column "data" (a record's fields as given); the result is a
query returning every column of p_input plus "fields" (jsonb) and
"problems" (a jsonb array), and helper columns named dw_*. It is built from
the mapping rules (discovery._mapping_rules), the keys the batch's records
carry and the import's field defaults, as one pipeline of projections over
the batch: a record costs a few expressions per key and no function call or
subquery of its own (a per-record function over jsonb_each cost
milliseconds a record).

  fields    a key named by an approved mapping fills its target; an
            unmapped key equal to an asset column (any case, any padding)
            fills that column; external_ids.<namespace> keys and an
            "external_ids" object give external IDs; any other key is a
            custom attribute under its own name (or the mapping's); a blank
            key is the custom attribute unnamed_column; the defaults fill
            what no key filled (a profile's constants);
  values    of asset columns and external IDs: every kind of whitespace
            trimmed; placeholders (N/A, -, …) are null; a nested object is
            its value_key member, else its display, name, label, address,
            model or value; ip_address keeps the primary address (the first
            IPv4, else the first IPv6) and, when there are several, all of
            them in the custom attribute ip_addresses; cpu_cores is a whole
            number from 0 to 100,000; memory_gb and storage_gb are in GB (the
            unit from the value or the mapping; 1 GB = 1024 MB), from 0 to
            1e9; identity text (name, asset_name, asset_type, hostname,
            fqdn, external IDs) is at most 255 characters, other text
            10,000; a dotted hostname that is no IP address is also the fqdn
            when there is none. Custom attributes: strings are trimmed and
            placeholders dropped like the rest; numbers, booleans, objects
            and arrays keep their JSON; empty ones are left out;
  wide      a batch whose records carry hundreds of keys: a custom
            attribute past the 250th (unmapped, the only key of its name)
            is not a column of the pipeline (a query holds at most 1,664)
            but is read from each record's jsonb in one subquery, with the
            same value rules;
  winners   several keys of one field: the lowest priority number wins,
            then a mapped key, then the key's name; the others' values are
            kept as custom attributes (under their own name, or
            "source: <key>" when that names a field);
  problems  a value set to null, and a second source of equal priority, is
            a warning {field, error, value, severity: "warning", source}
            (so is an entry an "external_ids" object leaves out);
            a record with no name and no identity key has an error
            (severity "error"), which makes it invalid.
comment on discovery._data_import(uuid,uuid,uuid,boolean): The tenant's data import with this ID, or WR003. p_lock takes the import's
row lock, which serialises writers of one import (row_number, counters).
comment on discovery._discovery_flow(uuid,uuid,uuid): The tenant's discovery flow with this discovery_flows.id, or WR002. When the
ID is a flow's public flow_id (the old platform's mix-up) the HINT names the
discovery flow ID to use instead.
comment on discovery._external_id_entries(jsonb): The entries of an "external_ids" object of a record, each with its
namespace (lower case), its text, and why it is left out, if it is: a
blank namespace, no text value, a placeholder, more than 255 characters (a
JSON null is no value and no warning). The one rule behind
discovery._external_ids (the entries kept) and
discovery._external_id_problems (the warnings for the others).
comment on discovery._external_id_problems(jsonb): The warnings of an "external_ids" object of a record (DESIGN.md,
"Outcomes"): what discovery._external_ids leaves out is not dropped without
a word. Not an object, or an entry discovery._external_id_entries leaves
out: one warning each, {field, error, value, severity: "warning", source:
"external_ids"}.
comment on discovery._external_ids(jsonb): An "external_ids" object of a record: {namespace: value}, namespaces in
lower case, values as identity compares them (discovery._cleansing_sql);
the entries discovery._external_id_entries leaves out are not in it.
comment on discovery._field_changes(jsonb,jsonb,text): What a matched record writes to its existing asset (DESIGN.md,
"Reconciliation"): one row per field whose value changes, from the asset as
jsonb (to_jsonb of its row) and the record's cleansed fields. refresh writes
every non-identity field the record has a value for and the asset holds
differently; fill_empty only where the asset has no value; keep nothing.
Identity fields (discovery._identity_columns, external IDs per namespace)
are filled when empty and never overwritten. field is an asset column,
custom_attributes.<key> or external_ids.<namespace>.
The function is inlined into its caller: p_asset (usually to_jsonb(a) of
the caller's row) is read once, from a fenced subquery, not once per field
(converting the whole asset again for every field: 0.5 ms per record).
comment on discovery._field_name(text): The field a key or mapping target names: an asset column or
external_ids.<namespace> in lower case (whatever case the file used), any
other name as written (a custom attribute), trimmed.
comment on discovery._gap_kinds(): The ten wiring_health counts, in the order reports show them.
comment on discovery._identity_columns(): The asset columns that make its identity (DESIGN.md, "Reconciliation"):
filled when null, never overwritten by a run or a conflict resolution (nor
are the tenant and flow columns, which are not fields). External IDs are
identity too, per namespace.
comment on discovery._insert_raw_records(uuid,uuid,uuid,jsonb[]): Appends records to an import (add_raw_records, add_raw_records_bulk): each
element of p_records (JSON objects, checked by the caller) is one row;
row_number continues after the import's last. The import's row lock
serialises appends to one import. Records added to an import whose flow has
started carry its master flow, and an inventory that had completed reopens
(discovery._sync_flow_state). Returns the number of rows added.
comment on discovery._ip_addresses(jsonb,text): The addresses in an IP field: a list in one string ("a;b", "a, b", "a b"),
a JSON array, or objects with an address ("10.0.0.1/24" as NetBox writes
it: the prefix length is checked and dropped). Returns
{"addresses": [valid ones, canonical, in order, each once], "primary":
the first IPv4 else the first IPv6, "bad": [entries that are not one]}.
comment on discovery._is_placeholder(text): Whether a (trimmed) value is a placeholder that exports write for "no
value": N/A, -, unknown, none, null, TBD, … in any case. The first
character is tested first: a placeholder starts with one of # ( - < ? n t u
(or N T U), and most values do not, so they never pay for lower() (called
for every value of every record, it was a tenth of the cleansing).
comment on discovery._is_uuid(text): True when the text is a UUID the uuid type accepts (hex digits in the 8-4-4-4-12
form, hyphens optional, braces around the whole or none), so that a
payload's bad UUID is reported as WR005 instead of failing a cast.
comment on discovery._json_text(jsonb,text): A JSON value as the text a column holds: strings trimmed, numbers and
booleans as written, a nested object as its p_value_key member or else the
first of display, name, label, address, model, value; an array as its
elements' texts joined by ", " (an array inside it as its JSON text: no
recursion, so a value nested thousands deep costs no stack). Null for JSON
null and empty results.
comment on discovery._jsonb_object_sql(text[]): SQL text of a jsonb object built from "key, value" pair expressions, in
chunks of 50 (jsonb_build_object takes at most 100 arguments); '{}' when
there is none.
comment on discovery._lock_tenant_assets(uuid,uuid): Serialises every writer of a tenant's assets (create, resolve, repair,
undo) for the rest of the caller's transaction: a row lock on the tenant's
engagement row, which only these definer functions take.

Why a lock per tenant: identity matching reads the tenant's assets and then
writes new ones, so two callers whose records share an identity (on one
flow or on two flows) must not both see "no asset". With the lock held,
each caller's statements (READ COMMITTED: a new snapshot per statement) see
everything committed by the previous holder, so N concurrent callers end
exactly as N serial callers: one asset per identity, every record linked
once, and nobody sees a unique violation or a deadlock (the lock is taken
before any other row lock of these tables). Tenants never wait for each
other. Why a row lock and not an advisory lock: any role may take any
advisory lock, so a read-only session could block every import of a tenant;
locking a row needs UPDATE on its table, which only the owner has. FOR NO
KEY UPDATE does not conflict with the key-share locks of foreign-key checks.
comment on discovery._mapped_field(jsonb,jsonb,text): One field of a record as text, for repairs that identify legacy records: the
value of the key that p_rules (discovery._mapping_rules) maps to p_field,
else of the key named like p_field in any case; null when empty.
comment on discovery._mapping_rules(uuid,uuid): The import's approved mappings as cleansing rules (discovery._cleansing_sql):
{normalised source field: {target, priority, unit, value_key}}, where the
source field is normalised as the cleansing normalises a record's keys
(every kind of whitespace trimmed, lower case).
comment on discovery._page_size(integer,integer): The page size a list_* function uses: WR006 for a page or page size below
1 (or null), sizes above 200 capped to 200.
comment on discovery._pagination(integer,integer,bigint,integer): The "pagination" and "metadata" members of a list_* result (DESIGN.md,
"list_assets"), for page p_page of p_page_size (the size used) out of
p_total rows, p_requested_size being the size the caller asked for.
comment on discovery._plan_and_changes_sql(text): The first part of create_assets_from_discovery's statement, shared by its
dry run and its real run: the plan (p_plan_sql, from discovery._plan_sql)
and the changes matched records make to existing assets (per asset and
field, the value of the last record by row_number), as the CTEs "plan" and
"changes".
Parameters: $1 client account, $2 engagement, $4 import, $5 p_assets,
$6 p_on_match. The plan carries the tenant as a column
(dw_client_account_id): the statements that find a planned record or asset
again join on it and the primary key, never on the constant $1 as an index
condition, so that a planner whose statistics do not know the tenant yet
cannot scan the tenant once per planned row; the constant only pins the
tenant for Citus (migration.===, migration 0006).
comment on discovery._plan_sql(uuid,uuid,uuid,jsonb,boolean): The plan of one create_assets_from_discovery call, as the text of a query
that the call's statement runs as its CTE "plan" (built here, so that its
rows are not stored once more as a function's result): one row per record
in scope with its cleansed fields, its outcome and the asset it is linked
to. It writes nothing, so that a dry run and a real run share it. The query
takes the statement's parameters $1 (client account), $2 (engagement), $4
(the import) and $5 (p_assets).

Scope: with p_assets null, the import's records not processed yet, their
fields being cleansed_data when set, else raw_data cleansed with the
import's approved mappings and field defaults (discovery._cleansing_sql);
with p_assets, the records it names that are not processed yet, already
linked, or invalid (the caller may supply what they lacked), their fields
being the caller's, cleansed by the same value rules.

Identity (DESIGN.md, "Identity"): a record's keys are, strongest first, its
external IDs (per namespace), fqdn, short host name, IP address (inet),
name + asset_type and name. An existing live asset is compared with the
record on the highest-ranked key both have: equal there, it is a candidate;
different, it is not the same asset, whatever a lower key says. A candidate
found on a weak key (IP, name + type, name) whose name differs from the
record's, when both have a name of their own (not just an IP address), is
kept apart and named in the note. No candidate: new; one: matched; more: conflict, pointing at the
candidate of the highest-ranked key.

New records are grouped by their strongest key; a record whose strongest
key is its short host name joins the group of the one FQDN of the batch with
that short name, one known only by its IP the one named group of that IP,
one with a name but no type the one typed group of that name. The first of
a group by row_number creates the asset, the others match it.

Shape: one pass over the records (the cleansing pipeline), then per
candidate record an indexed lookup of each key, stored once (topped); window
functions over its keys alone for the grouping (grouped), and one sort of
the records and their groups together, by record, to bring each group to
its record (zipped). Nothing is joined to a CTE, so no estimate can make it
quadratic, and the whole records (their fields) are sorted once, not once
per key: at 1,000,000 records each such sort wrote 0.7 GB to disk. The
lookups take the tenant from the batch's columns
(dw_client_account_id, dw_engagement_id), not from the constants: given the
constants, a planner whose statistics do not know the tenant yet may walk
the tenant's listing index once per record instead of the key's index. The
constant tenant only pins the lookups for Citus (`OPERATOR(migration.===)`,
never an index condition nor an estimate: migration 0006).
p_tenant_has_assets false (no live asset yet, as on a first import) leaves
the lookups out of the query.
comment on discovery._raise(text,text,text,text): Raises an API error: a WR SQLSTATE, a message, a DETAIL naming the
offending value and a HINT (DESIGN.md, "Errors"). Volatile: an immutable
call with constant arguments would be evaluated when it is planned, not
when it runs.
comment on discovery._raw_data_keys(uuid,uuid,boolean): The keys of the raw_data objects of an import's unprocessed records, each
once and sorted (the columns of discovery._cleansing_sql), for
cleanse_records (every unprocessed record) and _plan_sql (only those not
cleansed yet: p_uncleansed_only). The records come from the partial index
of unprocessed records, the tenant pinned (migration.===, never an index
condition: with the tenant as one, the import's processed records were
walked too).

Shape (one statement, the scope written once): the keys of one record in
scope, then one pass that removes those keys from every record
(jsonb - text[]) and lists only what is left. The
records of a file share their keys, so the pass lists nothing per record
and its cost is linear whatever the statistics say. Listing every key of
every record (20 per record) and removing the duplicates was a sort of 20
million keys at 1,000,000 records whenever the planner believed the import
small (its statistics do not know a new import): 18.8 s (9.6 s hashed),
against 2.5 s now; 100,000 records: 1.1-1.7 s against 0.25-0.28 s.
comment on discovery._refresh_statistics(regclass): Refreshes the planner's statistics of p_table inside the caller's
transaction, so that the caller's next statements, and every query of the
tenant after COMMIT, are planned for the rows just written rather than for
an empty table. Returns whether it did.

ANALYZE keeps its lock on the table to the end of the transaction. When
another transaction holds it (a big call of another tenant that has not
committed yet, or autovacuum), the statistics are being refreshed already:
waiting would make big calls of different tenants queue behind each other,
so it gives up after a short wait instead.
comment on discovery._repair_wiring(uuid,uuid): The repairs of repair_wiring, each one set-based statement, in an order
where each can use what the previous ones fixed. Returns {kind: count}.
comment on discovery._sync_flow_state(uuid,uuid,uuid): The flow lifecycle (DESIGN.md, "Flow lifecycle"), decided in one place
from the state of the data and written to the discovery flow, its master
flow and its import, consistently:
  undone     the import was taken back (undo_import): all three 'undone';
  completed  its inventory ran, no record is unhandled and no conflict is
             pending: all three 'completed', asset_inventory_completed;
  active     otherwise (records added since, conflicts pending): the flow
             and master flow 'active', the import 'processing' once its
             inventory ran; phase_state.conflict_resolution_pending says
             whether conflicts wait for a person.
The import's counters come from migration.record_counts. Returns the state.
comment on discovery._tenant_has_assets(uuid,uuid): Whether the tenant has a live asset (from the counters; when it has none,
as on a first import, discovery._plan_sql skips the identity lookups).
comment on discovery._tenant_verified(uuid,uuid): Whether the tenant's counters and the guarantees of its foreign keys and
wiring triggers hold: false once a row of the tenant was written in replica
mode (a restore), until repair_wiring verifies it again.
comment on discovery._to_gb(text,text): A memory or storage amount in GB (binary units: 1 GB = 1024 MB), from text
such as "4096", "16 GB", "1.5TB" or "4,096"; p_unit is the column's unit
when the value carries none. Null when it is not a number of 0 or more.
comment on discovery._trim(text): Text with every kind of whitespace (tabs, line breaks, no-break and
zero-width spaces, the byte order mark) trimmed at both ends.
comment on discovery._undo_import(uuid,uuid,uuid): The writes of undo_import, each one set-based statement, in order: revert
the import's asset changes, re-home or soft-delete the assets it created,
discard its records, close its conflicts, mark it undone. Returns the counts.
Its statements are planned with the arrays' values on every call
(plan_cache_mode): in a generic plan, which PL/pgSQL may use from a
session's sixth call on, an array is a parameter and a filter on it walks
the whole array for each row (migration 0012).
comment on discovery._verify_tenant(uuid,uuid): Brings a tenant's counters back in line with its rows (a restore in replica
mode bypasses the triggers that keep them) and, when a check of every row
finds no wiring gap, marks the tenant verified again
(migration.tenants_unverified), so that wiring_health and the list_*
functions go back to their fast paths. Returns whether it is verified.
comment on discovery._wiring_gaps(uuid,uuid,boolean): Every wiring gap of one tenant, one row per (kind, object): the kinds are
the keys of wiring_health (DESIGN.md), plus raw_records_pending (records not
processed that no run has covered yet: information, not a gap).
Soft-deleted assets and discarded records are no gap.

p_full false looks only where a gap can be (discovery.wiring_health):
in a tenant never written in replica mode, the foreign keys (enforced for
every write, even NOT VALID) rule out orphan references and unknown flows,
and the wiring triggers rule out a live flow-based asset whose links
disagree at COMMIT, so only the assets of migration.assets_wiring_suspects_idx
(unwired, legacy, or not flow-based with a raw record) and the records of
raw_import_records_wiring_suspects_idx can be gaps, besides the records a
run left behind; raw_records_pending then comes from the counters and is not
listed. p_full true checks every row.

The records a run left behind are read from the partial index of
unprocessed records, for the tenant's imports that the counters say still
have some (none, usually: no index is read), as an array, and compared
with their flow's watermark and tenant after: with the tenant or an import
as a constant, a planner whose statistics do not know them yet preferred
the index of every row of the import (60,000 rows read per import of a
100,000-asset tenant).

Every cross-table check is a correlated scalar subquery on a primary or
unique key, which PostgreSQL runs as one index probe per row and never
turns into a join: with stale statistics (a tenant loaded since the last
ANALYZE) a planned anti-join scanned the whole tenant once per row.
comment on discovery.add_raw_records(uuid,uuid,uuid,jsonb): Appends one raw record per element of p_records (each a JSON object, kept
as raw_data); row_number continues after the import's last; returns the
number of rows added (discovery._insert_raw_records).
comment on discovery.add_raw_records_bulk(uuid,uuid,uuid,jsonb[]): add_raw_records for bulk loading: the records as an array of jsonb, which a
client builds on the server from rows it COPYed into a temporary table of
its own (SELECT … ARRAY(SELECT raw_data FROM pg_temp.… ORDER BY …)), so
that no JSON document of the whole chunk is parsed or built. Same rules and
limits as add_raw_records (WR005 for a null or non-object element, or more
than 50,000 elements).
comment on discovery.cleanse_records(uuid,uuid,uuid): Server-side cleansing of the flow's records not yet processed (DESIGN.md,
"Field mapping"): the import's approved mappings, field defaults and the
value rules of discovery._cleansing_sql, applied in one statement; writes
cleansed_data, validation_errors (warnings and errors) and is_valid.
Returns how many records came out valid (cleansed) and how many invalid.
create_assets_from_discovery cleanses by itself the records that have no
cleansed data, in the same write as their outcome: calling this first is
only needed to inspect the result before creating assets.
comment on discovery.create_assets_from_discovery(uuid,uuid,uuid,jsonb,boolean,text): Creates the flow's assets and links them to their raw records, in the
caller's transaction (DESIGN.md, "create_assets_from_discovery"):

  validate   tenant, flow, arguments and the p_assets payload;
  plan       discovery._plan_sql: each record's cleansed fields, its
             outcome and its asset (identity, grouping), as the first
             CTE of the statement;
  write      one statement: the new assets, each handled record's one
             write (cleansed data, outcome, link), the pending conflicts,
             the changes matched records make to existing assets
             (p_on_match) with one migration.asset_changes row per value;
  record     the run row, and the flow's lifecycle (discovery._sync_flow_state).

A call with nothing to handle writes nothing. p_dry_run returns the counts
a real run would return and writes nothing.
comment on discovery.create_data_import(uuid,uuid,text,text,text,uuid,text): A new, empty data import of the tenant; returns its ID.
comment on discovery.get_asset(uuid,uuid,uuid): One asset of the tenant with its lineage, the raw records linked to it and
its change history, newest first (DESIGN.md, "get_asset"); a soft-deleted
asset is shown with its deleted_at. WR009 when the tenant has no such
asset. Records and changes are capped at 500 each ("records_truncated",
"changes_truncated" say so).
comment on discovery.list_assets(uuid,uuid,uuid,integer,integer,text,text): One page of the tenant's live assets, newest first (created_at desc, id
desc): all of them, or those of one flow when p_flow_id (any flow ID) is
given. A page size above 200 is capped to 200. The total comes from the
counters (migration.asset_counts), so a page costs the same in a tenant of
a million assets; a tenant written in replica mode is counted row by row.
comment on discovery.list_conflicts(uuid,uuid,uuid,text,integer,integer): One page of the tenant's conflicts (DESIGN.md, "list_conflicts"), oldest
first: pending ones by default (p_status 'pending', 'resolved', or null for
both), of one flow when p_flow_id (any flow ID) is given. Each conflict
carries its candidates side by side ("candidates": the identity fields of
each candidate asset) and the new data. Page sizes are capped at 200.
comment on discovery.list_data_imports(uuid,uuid,integer,integer): One page of the tenant's data imports, newest first (DESIGN.md,
"list_data_imports"), each with its outcome counts (from
migration.record_counts), its flows and its source profile. Page sizes are
capped at 200.
comment on discovery.list_raw_records(uuid,uuid,uuid,uuid,text,integer,integer): One page of the tenant's raw records (DESIGN.md, "list_raw_records"),
ordered by import then row_number: all of them, those of one import
(p_data_import_id), of one flow's import (p_flow_id, any flow ID), and of
one outcome (p_outcome: pending, created, matched, conflict, invalid,
discarded). Each record carries its raw and cleansed data, so a backend can
compute and supply cleansed data or assets for it. The total comes from the
counters (migration.record_counts). Page sizes are capped at 200.
comment on discovery.persist_cleansed_data(uuid,uuid,uuid,jsonb): Stores cleansing results computed elsewhere, from {raw_import_record_id,
cleansed_data, validation_errors?} objects. The cleansed data goes through
the server's value rules (keys matched to asset columns in any case,
placeholders, IP lists, numbers in range, identity lengths: what cannot be
stored becomes null with a warning), and the caller's validation errors are
kept beside those warnings: a record is valid when the caller gave no error
and it has an identity. Returns the number of records written. A record
must belong to the flow's import (WR004) and not be processed yet (WR008);
each record once (WR005, whatever the case of its UUID).
comment on discovery.register_tenant(uuid,uuid,text,text): Creates the client account and engagement. Idempotent: registering a tenant
again keeps its rows (and names) as they are.
comment on discovery.repair_wiring(uuid,uuid,boolean): Repairs what older code left behind in one tenant, where exactly one
answer is right (DESIGN.md, "repair_wiring"), and reports the rest by kind:
  discovery_flow_id_from_flow_id        a discovery_flow_id holding a flow_id becomes that flow's id;
  discovery_flow_id_from_legacy_flow_id a null discovery_flow_id taken from the legacy flow_id,
  discovery_flow_id_from_raw_import     … or from the raw record's import, naming one flow;
  master_flow_id_from_discovery_flow    master_flow_id follows the discovery flow;
  asset_origin_from_back_pointer        an asset to which exactly one raw record points gets it as origin;
  raw_back_pointer_from_asset_origin    a record that one asset names as origin gets the back-pointer;
  linked_by_identity                    an asset with no record, in a flow whose import holds exactly
                                        one unlinked record of its identity (hostname, else name),
                                        is linked to it both ways.
Returns {"dry_run", "repaired": {kind: count}, "remaining": {health key:
count}, "verified"}: a tenant written in replica mode has its counters
recounted, and is verified (back to the fast health checks) once nothing
remains.
A dry run (the default) does the same work in a subtransaction and rolls it
back, so it reports exactly what a real run would do, and writes nothing.
comment on discovery.resolve_asset_conflict(uuid,uuid,uuid,text,jsonb): Resolves a pending conflict (DESIGN.md, "resolve_asset_conflict") and links
its raw record; returns the asset the record is linked to:
  keep_existing     links it to the existing asset, which is left as it is;
  replace_with_new  writes the new data's non-identity fields to it;
  merge             writes only the fields named in p_merge_fields;
  create_new        decides that the record is a different asset: creates
                    the record's own asset (in the conflict's flow) and
                    links it.
Every value written to the existing asset is a migration.asset_changes row
naming the conflict. The record's outcome becomes matched (created for
create_new) and the conflict resolved; when it was the flow's last pending
conflict, the flow's inventory completes (discovery._sync_flow_state). An
existing asset soft-deleted since the conflict was raised takes no record:
WR008 (use create_new).
comment on discovery.resolve_flow(uuid,uuid,uuid): Maps any flow ID of the tenant (a discovery_flows.id, its public flow_id,
or the master flow's flow_id, which equals it) to all three; WR002 when the
tenant has no such flow.
comment on discovery.set_field_mappings(uuid,uuid,uuid,jsonb,jsonb,text): Upserts the import's field mappings from {source_field, target_field,
status?, confidence_score?, unit?, priority?, value_key?} objects (status
defaults to approved; DESIGN.md, "Source profiles"), and optionally the
import's field defaults (a profile's constant fields, e.g. {"asset_type":
"virtual_machine"}: each a value its field can hold, else WR005, stored as
the field holds it) and the name of its source profile. Returns how many
mappings were written.

  target_field  an asset column (any case), external_ids.<namespace>, or
                any other name (a custom attribute); stored trimmed;
  unit          the source unit of a memory or storage column (B, KB, KiB,
                MB, MiB, GB, GiB, TB, TiB), converted to GB;
  priority      1–100: several approved sources may fill one asset column
                or external ID only with different priorities (the lowest
                non-empty wins, the others stay custom attributes): two with
                the same priority are refused (WR005);
  value_key     the member holding the value of a nested JSON object.

A source field is matched to a record's keys whatever its case and padding,
so two mappings of one normalised source are refused (WR005). Once a flow of
the import has run its inventory, a change would make assets disagree with
their records: WR008 (sending the same mappings again is no change). A
change before that discards the cleansing of records not processed yet,
which was made with the old mappings.
comment on discovery.start_discovery_flow(uuid,uuid,uuid,text,text): Starts the discovery of an import: a master flow and its discovery flow,
and links the import to the master flow; its raw records get the master
flow when they are handled (records added later get it at once). An import
has one discovery flow: starting it again returns the flow it already has.
comment on discovery.suggest_field_mappings(uuid,uuid,uuid): Proposes a target for every source field seen in the import's raw records,
deterministically from the header alone: an asset column's own name
(confidence 1.0), a known synonym ("Server Name" → hostname; "Primary
IPv4" → ip_address; "OS", "Platform" → operating_system; …, 0.9), else the
header in snake_case, which lands in custom_attributes (0.3). No two
sources are proposed for one asset column: the best (highest confidence,
then first by name) keeps it, the others are proposed as custom attributes.
A header of symbols only is proposed as unnamed_column, a very long one is
cut. A blank header is not proposed: it needs no mapping (the cleansing keeps
its value as the custom attribute unnamed_column, with a warning), and
set_field_mappings takes no blank source field.
Writes nothing: approve with set_field_mappings.
comment on discovery.undo_import(uuid,uuid,uuid,boolean): Takes an import back (DESIGN.md, "undo_import"): for an import whose runs
went wrong (a bad mapping, a wrong file), the tenant becomes as if it had
never run, except for what someone changed since, which is kept and
counted.

  changes   the asset_changes its records made (runs and conflict
            resolutions) are reverted newest first, per asset and field,
            where the field still holds the value they wrote and nothing
            else wrote it since; the others are kept (changes_kept);
  assets    the assets its records created are soft-deleted (deleted_at)
            unless a record of another import links them, in which case
            that record becomes their origin;
  records   unlinked and marked discarded;
  conflicts its pending ones are closed (resolved, with a note);
  flow      the import, its flow and master flow become 'undone'.

Wiring health stays healthy: soft-deleted assets and discarded records are
no gaps. p_dry_run (the default) does the same work in a subtransaction and
rolls it back, so it reports exactly what a real run would do and writes
nothing. Returns {"dry_run", "assets_deleted", "changes_reverted",
"changes_kept", "records_discarded", "conflicts_closed"}.
comment on discovery.wiring_health(uuid,uuid,boolean): The tenant's wiring report (DESIGN.md, "wiring_health"): the ten gap counts
as top-level keys, health_status ('healthy' when all are zero),
raw_records_pending (information, not a gap), import_quality (information
for the people running imports), the tenant, and with p_detail up to 10
sample IDs per count.

It answers in milliseconds whatever the tenant's size: it looks only where
a gap can be (discovery._wiring_gaps with p_full false) and takes totals from
the counters. A tenant written in replica mode (a restore) is checked row by
row until repair_wiring verifies it.
