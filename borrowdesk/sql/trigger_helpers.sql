-- The two look-ups every audit and rule trigger makes, without a subtransaction.
--
-- django-pgtrigger's _pgtrigger_should_ignore (called first by every trigger it installs) and
-- django-pghistory's _pgh_attach_context (called by every audit event) read a session setting inside
-- a BEGIN … EXCEPTION block, so that a setting never defined in the session (reading it raises) or
-- left empty (casting '' raises) reads as NULL. Each such block is a subtransaction: two per audited
-- row, whose rollbacks make PostgreSQL rescan the transaction's queue of pending after-trigger events,
-- so a statement writing many audited rows slowed down with the square of their number.
-- current_setting(name, true) reads an undefined setting as NULL without raising, and NULLIF maps the
-- empty string to NULL: the same answers, no subtransaction.
--
-- Installed after every migrate (borrowdesk.audit.install_trigger_helpers, a post_migrate handler),
-- because installing any pgtrigger trigger re-creates the library's _pgtrigger_should_ignore; a test
-- compares the live functions with this file. Written for pgtrigger 4.17 and pghistory 3.9 (pinned):
-- the same signatures and results as theirs.

CREATE OR REPLACE FUNCTION "public"._pgtrigger_should_ignore(trigger_name NAME)
RETURNS BOOLEAN AS $$
    SELECT coalesce(
        trigger_name = ANY (NULLIF(current_setting('pgtrigger.ignore', true), '')::text[]),
        false
    )
$$ LANGUAGE sql STABLE;

CREATE OR REPLACE FUNCTION "public"._pgh_attach_context()
RETURNS uuid AS $$
    DECLARE
        _pgh_context_id UUID := NULLIF(current_setting('pghistory.context_id', true), '')::uuid;
        _pgh_context_metadata JSONB := NULLIF(current_setting('pghistory.context_metadata', true), '')::jsonb;
    BEGIN
        IF _pgh_context_id IS NULL OR _pgh_context_metadata IS NULL THEN
            RETURN NULL;
        END IF;
        INSERT INTO pghistory_context (id, metadata, created_at, updated_at)
            VALUES (_pgh_context_id, _pgh_context_metadata, NOW(), NOW())
            ON CONFLICT (id) DO UPDATE
                SET metadata = EXCLUDED.metadata,
                    updated_at = EXCLUDED.updated_at
                WHERE pghistory_context.metadata != EXCLUDED.metadata;
        RETURN _pgh_context_id;
    END;
$$ LANGUAGE plpgsql;
