// PostgresFunctions: the store's per-file work as server functions (PL/pgSQL) — an attempt's start, with the ends recorded before it, is one statement and one round trip, not thirteen.

import FastResize
import FastResizeJobs
import FastResizeSQLWire
import Foundation

extension PostgresJobStore {
    /// Migration 4: the functions. `upsert_file` makes an input's row say a state (its outputs
    /// replaced by the state's); `finish_attempts` records ended attempts; `start_attempt` records
    /// those, then begins one, or says why not. Arguments and answers are JSON: the statements
    /// inside are planned once per connection, where the same statements sent one by one were
    /// parsed, planned and waited for each time (per file: 13 round trips, ~1.3 ms of the client's
    /// time on this machine).
    static let functions: [String] = [
        """
        CREATE FUNCTION upsert_file(folder TEXT, s JSONB, of_job BIGINT, counted BOOLEAN, by_owner TEXT, expires BIGINT, latest BIGINT)
        RETURNS BIGINT LANGUAGE plpgsql AS $fn$
        DECLARE
            made BIGINT;
            inserted BOOLEAN;
        BEGIN
            INSERT INTO file (output_folder, input, path, size, mtime_ns, inode, device, content_hash, fingerprint, status,
                              attempts, failure_kind, failure, stamped_ns, job_id, lease_owner, lease_expires_ns, attempt_id)
            VALUES (folder, s->>'input', s->>'path', (s->>'size')::bigint, (s->>'mtime_ns')::bigint, (s->>'inode')::bigint,
                    (s->>'device')::bigint, s->>'content_hash', s->>'fingerprint', s->>'status', CASE WHEN counted THEN 1 ELSE 0 END,
                    s->>'failure_kind', s->>'failure', (s->>'stamped_ns')::bigint, of_job, by_owner, expires, latest)
            ON CONFLICT (output_folder, input) DO UPDATE SET
                path = excluded.path, size = excluded.size, mtime_ns = excluded.mtime_ns, inode = excluded.inode,
                device = excluded.device, content_hash = excluded.content_hash, fingerprint = excluded.fingerprint,
                status = excluded.status, attempts = file.attempts + excluded.attempts, failure_kind = excluded.failure_kind,
                failure = excluded.failure, stamped_ns = excluded.stamped_ns, job_id = excluded.job_id,
                lease_owner = excluded.lease_owner, lease_expires_ns = excluded.lease_expires_ns,
                attempt_id = coalesce(excluded.attempt_id, file.attempt_id)
            RETURNING id, xmax = 0 INTO made, inserted;
            -- Outputs no longer listed go (a row just made has none); those still listed are
            -- updated in place below, not dropped and made again.
            IF NOT inserted THEN
                DELETE FROM output WHERE file_id = made
                    AND path NOT IN (SELECT o->>'path' FROM jsonb_array_elements(s->'outputs') AS o);
            END IF;
            -- A path another input's row held (the same name made from another folder) is this one's now.
            INSERT INTO output (path, file_id, size, mtime_ns, width, height, format, content_hash)
            SELECT DISTINCT ON (o->>'path') o->>'path', made, (o->>'size')::bigint, (o->>'mtime_ns')::bigint,
                   (o->>'width')::bigint, (o->>'height')::bigint, o->>'format', o->>'content_hash'
            FROM jsonb_array_elements(s->'outputs') AS o
            ON CONFLICT (path) DO UPDATE SET file_id = excluded.file_id, size = excluded.size, mtime_ns = excluded.mtime_ns,
                width = excluded.width, height = excluded.height, format = excluded.format, content_hash = excluded.content_hash;
            RETURN made;
        END
        $fn$
        """,
        """
        CREATE FUNCTION finish_attempts(ended JSONB, of_job BIGINT, folder TEXT, by_owner TEXT)
        RETURNS VOID LANGUAGE plpgsql AS $fn$
        DECLARE
            e JSONB;
            s JSONB;
            holder_attempt BIGINT;
            made BIGINT;
            one BIGINT;
        BEGIN
            FOR e IN SELECT value FROM jsonb_array_elements(ended) LOOP
                s := e->'state';
                one := (e->>'attempt')::bigint;
                -- Taken over meanwhile (this run stalled past its lease; the other's attempt is the
                -- file's now): this one is over, and the file's record stays the other's.
                IF one IS NOT NULL THEN
                    SELECT attempt_id INTO holder_attempt FROM file WHERE output_folder = folder AND input = s->>'input' FOR UPDATE;
                    IF holder_attempt IS NOT NULL AND holder_attempt <> one THEN
                        UPDATE attempt SET status = 'abandoned', finished_ns = (e->>'at')::bigint WHERE id = one;
                        CONTINUE;
                    END IF;
                END IF;
                IF one IS NOT NULL THEN
                    made := upsert_file(folder, s, of_job, false, by_owner, NULL, NULL);
                    UPDATE attempt SET status = s->>'status', finished_ns = (e->>'at')::bigint, failure_kind = s->>'failure_kind',
                        failure = s->>'failure', stage_ms = e->>'stage_ms', outputs = e->>'outputs',
                        input_bytes = (e->>'input_bytes')::bigint, input_pixels = (e->>'input_pixels')::bigint
                    WHERE id = one;
                ELSE
                    -- Its id first, so that the file's row names it as it is written (one write, not two).
                    one := nextval('attempt_id_seq');
                    made := upsert_file(folder, s, of_job, true, by_owner, NULL, one);
                    INSERT INTO attempt (id, status, finished_ns, failure_kind, failure, stage_ms, outputs, input_bytes, input_pixels,
                                         job_id, file_id, started_ns, owner)
                    VALUES (one, s->>'status', (e->>'at')::bigint, s->>'failure_kind', s->>'failure', e->>'stage_ms', e->>'outputs',
                            (e->>'input_bytes')::bigint, (e->>'input_pixels')::bigint, of_job, made, (e->>'at')::bigint, by_owner);
                END IF;
            END LOOP;
        END
        $fn$
        """,
        startAttempt,
    ]

    /// Made again by migration 5 (a taken-over attempt is recorded abandoned at once, not left
    /// running for ever when its run died): the newest version, for both.
    static let startAttempt = """
        CREATE OR REPLACE FUNCTION start_attempt(p JSONB) RETURNS JSONB LANGUAGE plpgsql AS $fn$
        DECLARE
            folder TEXT := p->>'folder';
            s JSONB := p->'state';
            of_job BIGINT := (p->>'job')::bigint;
            by_owner TEXT := p->>'owner';
            now_ns BIGINT := (p->>'at')::bigint;
            r file%ROWTYPE;
            took JSONB;
            made BIGINT;
            one BIGINT;
        BEGIN
            PERFORM finish_attempts(p->'finishing', of_job, folder, by_owner);
            IF (SELECT status FROM job WHERE id = of_job) = 'cancelled' THEN
                RETURN jsonb_build_object('outcome', 'cancelled');
            END IF;
            -- Two runs starting the same file take turns on this lock, the second seeing what the
            -- first did (a row not there yet cannot be locked with FOR UPDATE).
            PERFORM pg_advisory_xact_lock(hashtextextended(folder || chr(1) || (s->>'input'), 0));
            SELECT * INTO r FROM file WHERE output_folder = folder AND input = s->>'input' FOR UPDATE;
            IF FOUND THEN
                IF r.status = 'running' AND r.lease_owner IS NOT NULL AND r.lease_owner <> by_owner
                   AND r.lease_owner IS DISTINCT FROM p->>'taking_over' AND r.lease_expires_ns > now_ns THEN
                    RETURN jsonb_build_object('outcome', 'held', 'owner', r.lease_owner, 'expires', r.lease_expires_ns);
                END IF;
                IF r.status = 'running' AND r.lease_owner IS DISTINCT FROM by_owner THEN
                    SELECT coalesce(jsonb_agg(path), '[]'::jsonb) INTO took FROM output WHERE file_id = r.id;
                END IF;
                IF r.status <> 'running' AND r.lease_owner IS DISTINCT FROM by_owner
                   AND r.attempt_id IS DISTINCT FROM (p->>'based_on')::bigint THEN
                    RETURN jsonb_build_object('outcome', 'newer');
                END IF;
            END IF;
            -- The attempt taken over is over: its run died or stalled past its lease (should it wake,
            -- its late record finds the file another's and leaves it so).
            IF took IS NOT NULL THEN
                UPDATE attempt SET status = 'abandoned', finished_ns = now_ns WHERE id = r.attempt_id AND status = 'running';
            END IF;
            one := nextval('attempt_id_seq');
            made := upsert_file(folder, s, of_job, true, by_owner, (p->>'expires')::bigint, one);
            INSERT INTO attempt (id, job_id, file_id, status, started_ns, owner) VALUES (one, of_job, made, 'running', now_ns, by_owner);
            IF took IS NOT NULL THEN
                RETURN jsonb_build_object('outcome', 'tookOver', 'attempt', one, 'outputs', took);
            END IF;
            RETURN jsonb_build_object('outcome', 'started', 'attempt', one);
        END
        $fn$
        """

    /// An input's state as the functions read it: the file table's column names, a stamp's
    /// unsigned inode and device as the bits of a signed 64-bit number (as the columns hold them).
    struct FileFields: Encodable {
        var input: String
        var path: String
        var size: Int64?
        var mtimeNs: Int64?
        var inode: Int64?
        var device: Int64?
        var contentHash: String?
        var fingerprint: String
        var status: String
        var failureKind: String?
        var failure: String?
        var stampedNs: Int64
        var outputs: [OutputFields]

        init(_ state: InputState) {
            input = state.input
            path = state.path
            size = state.stamp.map { Int64($0.size) }
            mtimeNs = state.stamp?.modifiedNs
            inode = state.stamp.map { Int64(bitPattern: $0.inode) }
            device = state.stamp.map { Int64(bitPattern: $0.device) }
            contentHash = state.contentHash
            fingerprint = state.fingerprint
            status = state.status
            failureKind = state.failureKind
            failure = state.failure
            stampedNs = state.stampedNs
            outputs = state.outputs.map(OutputFields.init)
        }
    }

    struct OutputFields: Encodable {
        var path: String
        var size: Int64?
        var mtimeNs: Int64?
        var width: Int64
        var height: Int64
        var format: String
        var contentHash: String?

        init(_ output: OutputState) {
            path = output.path
            size = output.size.map(Int64.init)
            mtimeNs = output.modifiedNs
            width = Int64(output.width)
            height = Int64(output.height)
            format = output.format
            contentHash = output.contentHash
        }
    }

    /// An ended attempt for `finish_attempts`; its stage times and outputs as the attempt table
    /// keeps them (StoredJSON text, which `attempts(job:)` reads back).
    struct EndedFields: Encodable {
        var attempt: Int64?
        var state: FileFields
        var at: Int64
        var stageMs: String?
        var outputs: String
        var inputBytes: Int64?
        var inputPixels: Int64?

        init(_ finished: FinishedAttempt) {
            attempt = finished.attempt
            state = FileFields(finished.state)
            at = finished.nanoseconds
            stageMs = finished.stageMilliseconds.map { StoredJSON.text($0) }
            outputs = StoredJSON.text(finished.state.outputs)
            inputBytes = finished.input.bytes.map(Int64.init)
            inputPixels = finished.input.pixels.map(Int64.init)
        }
    }

    /// `start_attempt`'s argument.
    struct StartFields: Encodable {
        var folder: String
        var state: FileFields
        var job: Int64
        var owner: String
        var expires: Int64
        var at: Int64
        var basedOn: Int64?
        var takingOver: String?
        var finishing: [EndedFields]
    }

    /// `start_attempt`'s answer.
    struct StartAnswer: Decodable {
        var outcome: String
        var attempt: Int64?
        var outputs: [String]?
        var owner: String?
        var expires: Int64?
    }

    /// JSON for the functions: their keys are the columns' names.
    static func json(_ value: some Encodable) -> String {
        let encoder = JSONEncoder()
        encoder.keyEncodingStrategy = .convertToSnakeCase
        return String(decoding: (try? encoder.encode(value)) ?? Data("null".utf8), as: UTF8.self)
    }
}
