//! Versioned schema migrations. `PRAGMA user_version` records how many steps a database has
//! seen; opening runs the missing steps in one transaction each. A database from a newer
//! version (more steps than we know) is refused before anything is written to it.

/// Each entry upgrades the schema by one version; index 0 takes an empty file to version 1.
/// Never edit a released step: add a new one.
pub const MIGRATIONS: &[&str] = &[
    // v1: backends, conversations as message trees, drafts, settings.
    r#"
    CREATE TABLE profiles (
        id            TEXT PRIMARY KEY,
        name          TEXT NOT NULL UNIQUE,
        kind          TEXT NOT NULL CHECK (kind IN ('openai-compatible', 'opencode')),
        base_url      TEXT NOT NULL,
        default_model TEXT,
        headers       TEXT NOT NULL DEFAULT '[]',
        key_env       TEXT,
        username      TEXT,
        directory     TEXT,
        created_at    INTEGER NOT NULL,
        updated_at    INTEGER NOT NULL
    );
    CREATE TABLE conversations (
        id            TEXT PRIMARY KEY,
        title         TEXT NOT NULL,
        created_at    INTEGER NOT NULL,
        updated_at    INTEGER NOT NULL,
        pinned        INTEGER NOT NULL DEFAULT 0,
        archived      INTEGER NOT NULL DEFAULT 0,
        profile_id    TEXT REFERENCES profiles(id) ON DELETE SET NULL,
        model         TEXT,
        system_prompt TEXT,
        params        TEXT NOT NULL DEFAULT '{}',
        head_id       TEXT
    );
    CREATE INDEX conversations_by_update ON conversations(archived, pinned DESC, updated_at DESC);
    CREATE TABLE messages (
        seq             INTEGER PRIMARY KEY,
        id              TEXT NOT NULL UNIQUE,
        conversation_id TEXT NOT NULL REFERENCES conversations(id) ON DELETE CASCADE,
        parent_id       TEXT,
        role            TEXT NOT NULL CHECK (role IN ('system', 'user', 'assistant')),
        parts           TEXT NOT NULL DEFAULT '[]',
        text            TEXT NOT NULL DEFAULT '',
        status          TEXT NOT NULL CHECK (status IN ('complete', 'streaming', 'interrupted', 'error')),
        error           TEXT,
        model           TEXT,
        usage           TEXT,
        cost            REAL,
        created_at      INTEGER NOT NULL,
        updated_at      INTEGER NOT NULL
    );
    CREATE INDEX messages_by_conversation ON messages(conversation_id, seq);
    CREATE INDEX messages_by_parent ON messages(parent_id);
    CREATE TABLE drafts (
        key        TEXT PRIMARY KEY,
        text       TEXT NOT NULL,
        updated_at INTEGER NOT NULL
    );
    CREATE TABLE settings (
        key   TEXT PRIMARY KEY,
        value TEXT NOT NULL
    );
    "#,
    // v2: full-text search over message text, kept in sync by triggers; existing rows indexed.
    r#"
    CREATE VIRTUAL TABLE messages_fts USING fts5(
        text, content='messages', content_rowid='seq', tokenize='unicode61 remove_diacritics 2'
    );
    CREATE TRIGGER messages_fts_insert AFTER INSERT ON messages BEGIN
        INSERT INTO messages_fts(rowid, text) VALUES (new.seq, new.text);
    END;
    CREATE TRIGGER messages_fts_delete AFTER DELETE ON messages BEGIN
        INSERT INTO messages_fts(messages_fts, rowid, text) VALUES ('delete', old.seq, old.text);
    END;
    CREATE TRIGGER messages_fts_update AFTER UPDATE OF text ON messages BEGIN
        INSERT INTO messages_fts(messages_fts, rowid, text) VALUES ('delete', old.seq, old.text);
        INSERT INTO messages_fts(rowid, text) VALUES (new.seq, new.text);
    END;
    INSERT INTO messages_fts(messages_fts) VALUES ('rebuild');
    "#,
    // v3: soft delete, so "Delete" in the history list can be undone; the OpenCode session a
    // conversation mirrors (the server stays the source of truth, this is the offline copy).
    r#"
    ALTER TABLE conversations ADD COLUMN deleted_at INTEGER;
    ALTER TABLE conversations ADD COLUMN remote_session TEXT;
    CREATE INDEX conversations_deleted ON conversations(deleted_at) WHERE deleted_at IS NOT NULL;
    "#,
    // v4: prefix indexes for 2-, 3- and 4-character prefixes. Search-as-you-type makes the last
    // word a prefix; without these FTS5 merges the posting list of every matching term, which on
    // the 1,000,000-message benchmark (benches/search.rs) took up to 0.7 s for short common
    // prefixes ("of", "the", "with"; p95 over all searches 263 ms); with them p95 is 4 ms. The
    // index is rebuilt from the messages table once, when this version first opens a database
    // (35 s for the benchmark's million messages on 2 cores); it grows the file by about a fifth.
    r#"
    DROP TRIGGER messages_fts_insert;
    DROP TRIGGER messages_fts_delete;
    DROP TRIGGER messages_fts_update;
    DROP TABLE messages_fts;
    CREATE VIRTUAL TABLE messages_fts USING fts5(
        text, content='messages', content_rowid='seq', tokenize='unicode61 remove_diacritics 2',
        prefix='2 3 4'
    );
    CREATE TRIGGER messages_fts_insert AFTER INSERT ON messages BEGIN
        INSERT INTO messages_fts(rowid, text) VALUES (new.seq, new.text);
    END;
    CREATE TRIGGER messages_fts_delete AFTER DELETE ON messages BEGIN
        INSERT INTO messages_fts(messages_fts, rowid, text) VALUES ('delete', old.seq, old.text);
    END;
    CREATE TRIGGER messages_fts_update AFTER UPDATE OF text ON messages BEGIN
        INSERT INTO messages_fts(messages_fts, rowid, text) VALUES ('delete', old.seq, old.text);
        INSERT INTO messages_fts(rowid, text) VALUES (new.seq, new.text);
    END;
    INSERT INTO messages_fts(messages_fts) VALUES ('rebuild');
    "#,
    // v5: presets ("assistants") for new chats, at most one of them the default; the preset a
    // conversation started from; prices per backend and model (per million tokens); each
    // backend's model list as last fetched; whether a backend takes `stream_options` (NULL: not
    // known yet, 0: it rejected the field, so usage is not asked for in the stream); why a reply
    // ended as the server said (`length`: cut at the token limit, so it can be continued).
    r#"
    CREATE TABLE presets (
        id            TEXT PRIMARY KEY,
        name          TEXT NOT NULL UNIQUE COLLATE NOCASE,
        system_prompt TEXT,
        profile_id    TEXT REFERENCES profiles(id) ON DELETE SET NULL,
        model         TEXT,
        params        TEXT NOT NULL DEFAULT '{}',
        is_default    INTEGER NOT NULL DEFAULT 0,
        created_at    INTEGER NOT NULL,
        updated_at    INTEGER NOT NULL
    );
    CREATE UNIQUE INDEX presets_one_default ON presets(is_default) WHERE is_default = 1;
    ALTER TABLE conversations ADD COLUMN preset_id TEXT REFERENCES presets(id) ON DELETE SET NULL;
    CREATE TABLE model_prices (
        profile_id         TEXT NOT NULL REFERENCES profiles(id) ON DELETE CASCADE,
        model              TEXT NOT NULL,
        input_per_million  REAL NOT NULL CHECK (input_per_million >= 0),
        output_per_million REAL NOT NULL CHECK (output_per_million >= 0),
        PRIMARY KEY (profile_id, model)
    );
    CREATE TABLE model_lists (
        profile_id TEXT PRIMARY KEY REFERENCES profiles(id) ON DELETE CASCADE,
        models     TEXT NOT NULL,
        fetched_at INTEGER NOT NULL
    );
    ALTER TABLE profiles ADD COLUMN stream_usage INTEGER;
    ALTER TABLE messages ADD COLUMN finish_reason TEXT;
    "#,
    // v6: attached files, each content stored once (by SHA-256) however many messages and
    // branches carry it; a content no message uses any more is removed with its last link
    // (deleting a message or its conversation removes the links).
    r#"
    CREATE TABLE attachments (
        sha256     TEXT PRIMARY KEY,
        mime       TEXT NOT NULL,
        bytes      INTEGER NOT NULL,
        data       BLOB NOT NULL,
        created_at INTEGER NOT NULL
    );
    CREATE TABLE message_attachments (
        message_id TEXT NOT NULL REFERENCES messages(id) ON DELETE CASCADE,
        position   INTEGER NOT NULL,
        sha256     TEXT NOT NULL REFERENCES attachments(sha256),
        name       TEXT NOT NULL,
        PRIMARY KEY (message_id, position)
    );
    CREATE INDEX message_attachments_by_content ON message_attachments(sha256);
    CREATE TRIGGER attachments_unused AFTER DELETE ON message_attachments
      WHEN NOT EXISTS (SELECT 1 FROM message_attachments WHERE sha256 = old.sha256)
    BEGIN
        DELETE FROM attachments WHERE sha256 = old.sha256;
    END;
    "#,
    // v7: merge sync between devices (engine::sync). Nothing is recorded until sync is set up
    // (`sync_meta` holds this device's id): then every local change to a synced row leaves a
    // mark in `sync_dirty` (what changed, not the value: the value is read when it is sent), one
    // per row and field, newest wins (the triggers delete the older mark first: a conflict
    // clause would be overridden by the statement that fires them). `sync_versions` holds the
    // clock of each conversation field, row and tombstone as last merged, for last-writer-wins;
    // `sync_cursors` how far each other device's changes were merged. Changes applied from other devices set the
    // `applying` mark inside their transaction, so they are not sent back. OpenCode sessions'
    // offline copies are not synced (their server is the source of truth).
    r#"
    CREATE TABLE sync_meta (
        key   TEXT PRIMARY KEY,
        value TEXT NOT NULL
    );
    CREATE TABLE sync_dirty (
        seq   INTEGER PRIMARY KEY AUTOINCREMENT,
        kind  TEXT NOT NULL,
        id    TEXT NOT NULL,
        field TEXT NOT NULL,
        at_ms INTEGER NOT NULL,
        value TEXT,
        UNIQUE (kind, id, field)
    );
    CREATE TABLE sync_versions (
        kind  TEXT NOT NULL,
        id    TEXT NOT NULL,
        field TEXT NOT NULL,
        hlc   TEXT NOT NULL,
        value TEXT,
        PRIMARY KEY (kind, id, field)
    ) WITHOUT ROWID;
    CREATE TABLE sync_cursors (
        device TEXT PRIMARY KEY,
        seq    INTEGER NOT NULL
    );
    ALTER TABLE conversations ADD COLUMN sync_note TEXT;

    CREATE TRIGGER sync_conversation_insert AFTER INSERT ON conversations
    WHEN new.remote_session IS NULL
     AND EXISTS (SELECT 1 FROM sync_meta WHERE key = 'device')
     AND NOT EXISTS (SELECT 1 FROM sync_meta WHERE key = 'applying')
    BEGIN
        DELETE FROM sync_dirty WHERE kind = 'conversation' AND id = new.id AND field = '*';
        INSERT INTO sync_dirty (kind, id, field, at_ms) VALUES
          ('conversation', new.id, '*', CAST((julianday('now') - 2440587.5) * 86400000 AS INTEGER));
    END;
    CREATE TRIGGER sync_conversation_update AFTER UPDATE ON conversations
    WHEN new.remote_session IS NULL
     AND EXISTS (SELECT 1 FROM sync_meta WHERE key = 'device')
     AND NOT EXISTS (SELECT 1 FROM sync_meta WHERE key = 'applying')
    BEGIN
        DELETE FROM sync_dirty WHERE kind = 'conversation' AND id = new.id
          AND field IN (SELECT name FROM (SELECT 'title' AS name WHERE old.title IS NOT new.title
                UNION ALL SELECT 'pinned' WHERE old.pinned IS NOT new.pinned
                UNION ALL SELECT 'archived' WHERE old.archived IS NOT new.archived
                UNION ALL SELECT 'profile_id' WHERE old.profile_id IS NOT new.profile_id
                UNION ALL SELECT 'model' WHERE old.model IS NOT new.model
                UNION ALL SELECT 'system_prompt' WHERE old.system_prompt IS NOT new.system_prompt
                UNION ALL SELECT 'params' WHERE old.params IS NOT new.params
                UNION ALL SELECT 'preset_id' WHERE old.preset_id IS NOT new.preset_id
                UNION ALL SELECT 'head_id' WHERE old.head_id IS NOT new.head_id
                UNION ALL SELECT 'created_at' WHERE old.created_at IS NOT new.created_at
                UNION ALL SELECT 'deleted' WHERE (old.deleted_at IS NULL) IS NOT (new.deleted_at IS NULL)));
        INSERT INTO sync_dirty (kind, id, field, at_ms)
          SELECT 'conversation', new.id, f.name, CAST((julianday('now') - 2440587.5) * 86400000 AS INTEGER)
          FROM (SELECT 'title' AS name WHERE old.title IS NOT new.title
                UNION ALL SELECT 'pinned' WHERE old.pinned IS NOT new.pinned
                UNION ALL SELECT 'archived' WHERE old.archived IS NOT new.archived
                UNION ALL SELECT 'profile_id' WHERE old.profile_id IS NOT new.profile_id
                UNION ALL SELECT 'model' WHERE old.model IS NOT new.model
                UNION ALL SELECT 'system_prompt' WHERE old.system_prompt IS NOT new.system_prompt
                UNION ALL SELECT 'params' WHERE old.params IS NOT new.params
                UNION ALL SELECT 'preset_id' WHERE old.preset_id IS NOT new.preset_id
                UNION ALL SELECT 'head_id' WHERE old.head_id IS NOT new.head_id
                UNION ALL SELECT 'created_at' WHERE old.created_at IS NOT new.created_at
                UNION ALL SELECT 'deleted' WHERE (old.deleted_at IS NULL) IS NOT (new.deleted_at IS NULL)) AS f;
    END;
    CREATE TRIGGER sync_conversation_delete AFTER DELETE ON conversations
    WHEN old.remote_session IS NULL AND old.deleted_at IS NULL
     AND EXISTS (SELECT 1 FROM sync_meta WHERE key = 'device')
     AND NOT EXISTS (SELECT 1 FROM sync_meta WHERE key = 'applying')
    BEGIN
        DELETE FROM sync_dirty WHERE kind = 'conversation' AND id = old.id AND field = 'deleted';
        INSERT INTO sync_dirty (kind, id, field, at_ms) VALUES
          ('conversation', old.id, 'deleted', CAST((julianday('now') - 2440587.5) * 86400000 AS INTEGER));
    END;
    CREATE TRIGGER sync_message_insert AFTER INSERT ON messages
    WHEN EXISTS (SELECT 1 FROM sync_meta WHERE key = 'device')
     AND NOT EXISTS (SELECT 1 FROM sync_meta WHERE key = 'applying')
     AND EXISTS (SELECT 1 FROM conversations WHERE id = new.conversation_id AND remote_session IS NULL)
    BEGIN
        DELETE FROM sync_dirty WHERE kind = 'message' AND id = new.id AND field = '*';
        INSERT INTO sync_dirty (kind, id, field, at_ms) VALUES
          ('message', new.id, '*', CAST((julianday('now') - 2440587.5) * 86400000 AS INTEGER));
    END;
    CREATE TRIGGER sync_message_update AFTER UPDATE ON messages
    WHEN EXISTS (SELECT 1 FROM sync_meta WHERE key = 'device')
     AND NOT EXISTS (SELECT 1 FROM sync_meta WHERE key = 'applying')
     AND EXISTS (SELECT 1 FROM conversations WHERE id = new.conversation_id AND remote_session IS NULL)
    BEGIN
        DELETE FROM sync_dirty WHERE kind = 'message' AND id = new.id AND field = '*';
        INSERT INTO sync_dirty (kind, id, field, at_ms) VALUES
          ('message', new.id, '*', CAST((julianday('now') - 2440587.5) * 86400000 AS INTEGER));
    END;
    -- A message removed on its own (not with its conversation) leaves a tombstone naming its
    -- conversation and parent, so replies another device adds to it meanwhile are kept.
    CREATE TRIGGER sync_message_delete AFTER DELETE ON messages
    WHEN EXISTS (SELECT 1 FROM sync_meta WHERE key = 'device')
     AND NOT EXISTS (SELECT 1 FROM sync_meta WHERE key = 'applying')
     AND EXISTS (SELECT 1 FROM conversations WHERE id = old.conversation_id AND remote_session IS NULL AND deleted_at IS NULL)
    BEGIN
        DELETE FROM sync_dirty WHERE kind = 'message' AND id = old.id AND field = 'deleted';
        INSERT INTO sync_dirty (kind, id, field, at_ms, value) VALUES
          ('message', old.id, 'deleted', CAST((julianday('now') - 2440587.5) * 86400000 AS INTEGER),
           json_object('conversation', old.conversation_id, 'parent', old.parent_id));
    END;
    CREATE TRIGGER sync_profile_insert AFTER INSERT ON profiles
    WHEN EXISTS (SELECT 1 FROM sync_meta WHERE key = 'device')
     AND NOT EXISTS (SELECT 1 FROM sync_meta WHERE key = 'applying')
    BEGIN
        DELETE FROM sync_dirty WHERE kind = 'profile' AND id = new.id AND field = '*';
        INSERT INTO sync_dirty (kind, id, field, at_ms) VALUES
          ('profile', new.id, '*', CAST((julianday('now') - 2440587.5) * 86400000 AS INTEGER));
    END;
    CREATE TRIGGER sync_profile_update AFTER UPDATE ON profiles
    WHEN EXISTS (SELECT 1 FROM sync_meta WHERE key = 'device')
     AND NOT EXISTS (SELECT 1 FROM sync_meta WHERE key = 'applying')
    BEGIN
        DELETE FROM sync_dirty WHERE kind = 'profile' AND id = new.id AND field = '*';
        INSERT INTO sync_dirty (kind, id, field, at_ms) VALUES
          ('profile', new.id, '*', CAST((julianday('now') - 2440587.5) * 86400000 AS INTEGER));
    END;
    CREATE TRIGGER sync_profile_delete AFTER DELETE ON profiles
    WHEN EXISTS (SELECT 1 FROM sync_meta WHERE key = 'device')
     AND NOT EXISTS (SELECT 1 FROM sync_meta WHERE key = 'applying')
    BEGIN
        DELETE FROM sync_dirty WHERE kind = 'profile' AND id = old.id AND field = '*';
        INSERT INTO sync_dirty (kind, id, field, at_ms) VALUES
          ('profile', old.id, '*', CAST((julianday('now') - 2440587.5) * 86400000 AS INTEGER));
    END;
    CREATE TRIGGER sync_preset_insert AFTER INSERT ON presets
    WHEN EXISTS (SELECT 1 FROM sync_meta WHERE key = 'device')
     AND NOT EXISTS (SELECT 1 FROM sync_meta WHERE key = 'applying')
    BEGIN
        DELETE FROM sync_dirty WHERE kind = 'preset' AND id = new.id AND field = '*';
        INSERT INTO sync_dirty (kind, id, field, at_ms) VALUES
          ('preset', new.id, '*', CAST((julianday('now') - 2440587.5) * 86400000 AS INTEGER));
    END;
    CREATE TRIGGER sync_preset_update AFTER UPDATE ON presets
    WHEN EXISTS (SELECT 1 FROM sync_meta WHERE key = 'device')
     AND NOT EXISTS (SELECT 1 FROM sync_meta WHERE key = 'applying')
    BEGIN
        DELETE FROM sync_dirty WHERE kind = 'preset' AND id = new.id AND field = '*';
        INSERT INTO sync_dirty (kind, id, field, at_ms) VALUES
          ('preset', new.id, '*', CAST((julianday('now') - 2440587.5) * 86400000 AS INTEGER));
    END;
    CREATE TRIGGER sync_preset_delete AFTER DELETE ON presets
    WHEN EXISTS (SELECT 1 FROM sync_meta WHERE key = 'device')
     AND NOT EXISTS (SELECT 1 FROM sync_meta WHERE key = 'applying')
    BEGIN
        DELETE FROM sync_dirty WHERE kind = 'preset' AND id = old.id AND field = '*';
        INSERT INTO sync_dirty (kind, id, field, at_ms) VALUES
          ('preset', old.id, '*', CAST((julianday('now') - 2440587.5) * 86400000 AS INTEGER));
    END;
    CREATE TRIGGER sync_price_insert AFTER INSERT ON model_prices
    WHEN EXISTS (SELECT 1 FROM sync_meta WHERE key = 'device')
     AND NOT EXISTS (SELECT 1 FROM sync_meta WHERE key = 'applying')
    BEGIN
        DELETE FROM sync_dirty WHERE kind = 'price' AND id = new.profile_id || char(10) || new.model AND field = '*';
        INSERT INTO sync_dirty (kind, id, field, at_ms) VALUES
          ('price', new.profile_id || char(10) || new.model, '*', CAST((julianday('now') - 2440587.5) * 86400000 AS INTEGER));
    END;
    CREATE TRIGGER sync_price_update AFTER UPDATE ON model_prices
    WHEN EXISTS (SELECT 1 FROM sync_meta WHERE key = 'device')
     AND NOT EXISTS (SELECT 1 FROM sync_meta WHERE key = 'applying')
    BEGIN
        DELETE FROM sync_dirty WHERE kind = 'price' AND id = new.profile_id || char(10) || new.model AND field = '*';
        INSERT INTO sync_dirty (kind, id, field, at_ms) VALUES
          ('price', new.profile_id || char(10) || new.model, '*', CAST((julianday('now') - 2440587.5) * 86400000 AS INTEGER));
    END;
    CREATE TRIGGER sync_price_delete AFTER DELETE ON model_prices
    WHEN EXISTS (SELECT 1 FROM sync_meta WHERE key = 'device')
     AND NOT EXISTS (SELECT 1 FROM sync_meta WHERE key = 'applying')
    BEGIN
        DELETE FROM sync_dirty WHERE kind = 'price' AND id = old.profile_id || char(10) || old.model AND field = '*';
        INSERT INTO sync_dirty (kind, id, field, at_ms) VALUES
          ('price', old.profile_id || char(10) || old.model, '*', CAST((julianday('now') - 2440587.5) * 86400000 AS INTEGER));
    END;
    CREATE TRIGGER sync_setting_insert AFTER INSERT ON settings
    WHEN new.key = 'app' AND EXISTS (SELECT 1 FROM sync_meta WHERE key = 'device')
     AND NOT EXISTS (SELECT 1 FROM sync_meta WHERE key = 'applying')
    BEGIN
        DELETE FROM sync_dirty WHERE kind = 'setting' AND id = new.key AND field = '*';
        INSERT INTO sync_dirty (kind, id, field, at_ms) VALUES
          ('setting', new.key, '*', CAST((julianday('now') - 2440587.5) * 86400000 AS INTEGER));
    END;
    CREATE TRIGGER sync_setting_update AFTER UPDATE ON settings
    WHEN new.key = 'app' AND EXISTS (SELECT 1 FROM sync_meta WHERE key = 'device')
     AND NOT EXISTS (SELECT 1 FROM sync_meta WHERE key = 'applying')
    BEGIN
        DELETE FROM sync_dirty WHERE kind = 'setting' AND id = new.key AND field = '*';
        INSERT INTO sync_dirty (kind, id, field, at_ms) VALUES
          ('setting', new.key, '*', CAST((julianday('now') - 2440587.5) * 86400000 AS INTEGER));
    END;
    CREATE TRIGGER sync_setting_delete AFTER DELETE ON settings
    WHEN old.key = 'app' AND EXISTS (SELECT 1 FROM sync_meta WHERE key = 'device')
     AND NOT EXISTS (SELECT 1 FROM sync_meta WHERE key = 'applying')
    BEGIN
        DELETE FROM sync_dirty WHERE kind = 'setting' AND id = old.key AND field = '*';
        INSERT INTO sync_dirty (kind, id, field, at_ms) VALUES
          ('setting', old.key, '*', CAST((julianday('now') - 2440587.5) * 86400000 AS INTEGER));
    END;
    "#,
    // v8: a message's tombstone records when the message was last written, so the rule "a
    // conversation deleted on one device is kept when a message was written after the delete"
    // gives the same answer on every device, whether it saw that message before it was deleted
    // or only its tombstone.
    r#"
    DROP TRIGGER sync_message_delete;
    CREATE TRIGGER sync_message_delete AFTER DELETE ON messages
    WHEN EXISTS (SELECT 1 FROM sync_meta WHERE key = 'device')
     AND NOT EXISTS (SELECT 1 FROM sync_meta WHERE key = 'applying')
     AND EXISTS (SELECT 1 FROM conversations WHERE id = old.conversation_id AND remote_session IS NULL AND deleted_at IS NULL)
    BEGIN
        DELETE FROM sync_dirty WHERE kind = 'message' AND id = old.id AND field = 'deleted';
        INSERT INTO sync_dirty (kind, id, field, at_ms, value) VALUES
          ('message', old.id, 'deleted', CAST((julianday('now') - 2440587.5) * 86400000 AS INTEGER),
           json_object('conversation', old.conversation_id, 'parent', old.parent_id,
                       'updated_at', old.updated_at));
    END;
    "#,
    // v9: the replies left streaming by a crash are found through an index of just those (the
    // check runs at every start, and without it read every message of the history).
    r#"
    CREATE INDEX messages_streaming ON messages(conversation_id) WHERE status = 'streaming';
    "#,
];

pub const LATEST: i64 = MIGRATIONS.len() as i64;
