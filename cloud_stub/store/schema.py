"""The baseline schema (migration 1), frozen: a change is a new migration in ``migrations.py``."""

from __future__ import annotations

_SCHEMA = """
CREATE TABLE IF NOT EXISTS retailers (
    name TEXT PRIMARY KEY,
    token_sha256 TEXT NOT NULL UNIQUE,   -- the token itself is shown once and never stored
    created_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS enroll_tokens (
    token_sha256 TEXT PRIMARY KEY,       -- one-time: the token is shown once and never stored
    retailer TEXT NOT NULL REFERENCES retailers(name),
    created_at TEXT NOT NULL,
    expires_at REAL NOT NULL,
    used_at TEXT,
    cabinet_id TEXT
);
CREATE TABLE IF NOT EXISTS cabinets (
    id TEXT PRIMARY KEY,
    key TEXT NOT NULL,               -- hex
    retailer TEXT,
    created_at TEXT NOT NULL,        -- ISO 8601 UTC
    last_sync_at TEXT
);
CREATE TABLE IF NOT EXISTS events (
    id TEXT PRIMARY KEY,             -- UUID chosen by the cabinet: the idempotency key
    cabinet_id TEXT NOT NULL REFERENCES cabinets(id),
    seq INTEGER NOT NULL,
    type TEXT NOT NULL,
    schema_version INTEGER NOT NULL,
    wall_time TEXT NOT NULL,
    mono_time REAL NOT NULL,
    payload TEXT NOT NULL,           -- JSON
    received_at TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS events_by_cabinet_seq ON events(cabinet_id, seq, id);
CREATE INDEX IF NOT EXISTS events_by_cabinet_type ON events(cabinet_id, type, seq);
-- The same event id sent again by its cabinet with other content: refused, and kept here for the retailer.
CREATE TABLE IF NOT EXISTS event_conflicts (
    cabinet_id TEXT NOT NULL REFERENCES cabinets(id),
    event_id TEXT NOT NULL,
    received_sha256 TEXT NOT NULL,   -- of the refused content: a resend of it counts, not repeats
    differs TEXT NOT NULL,           -- JSON list of the fields that differ
    stored TEXT NOT NULL,            -- JSON: the event as stored
    received TEXT NOT NULL,          -- JSON: the event as refused
    first_at TEXT NOT NULL,
    last_at TEXT NOT NULL,
    times INTEGER NOT NULL,
    PRIMARY KEY (cabinet_id, event_id, received_sha256)
);
CREATE TABLE IF NOT EXISTS nonces (
    cabinet_id TEXT NOT NULL,
    nonce TEXT NOT NULL,
    seen_at REAL NOT NULL,           -- unix seconds: only ever compared, never shown
    PRIMARY KEY (cabinet_id, nonce)
);
CREATE INDEX IF NOT EXISTS nonces_by_age ON nonces(seen_at);
CREATE TABLE IF NOT EXISTS configs (
    cabinet_id TEXT PRIMARY KEY REFERENCES cabinets(id),
    version INTEGER NOT NULL,        -- bumped by every edit and every pickup order change
    document TEXT NOT NULL,          -- JSON without version and pickup_orders
    updated_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS pickup_orders (
    order_id TEXT PRIMARY KEY,
    cabinet_id TEXT NOT NULL REFERENCES cabinets(id),
    sku TEXT NOT NULL,
    code_hash TEXT NOT NULL,         -- scrypt of the pickup code; the code itself went to the buyer
    expires_at TEXT NOT NULL,
    created_at TEXT NOT NULL,
    collected_at TEXT
);
CREATE INDEX IF NOT EXISTS open_orders ON pickup_orders(cabinet_id) WHERE collected_at IS NULL;
-- The console's list of a retailer's orders: each cabinet's (a partial index cannot serve every order).
CREATE INDEX IF NOT EXISTS orders_by_cabinet ON pickup_orders(cabinet_id, created_at);
CREATE TABLE IF NOT EXISTS commands (
    id TEXT PRIMARY KEY,
    cabinet_id TEXT NOT NULL REFERENCES cabinets(id),
    kind TEXT NOT NULL,
    args TEXT NOT NULL,              -- JSON
    created_at TEXT NOT NULL,
    expires_at TEXT NOT NULL,        -- the cabinet refuses it after this, by the cloud's signed clock
    acked_at TEXT,
    result TEXT
);
CREATE INDEX IF NOT EXISTS pending_commands ON commands(cabinet_id, created_at) WHERE acked_at IS NULL;
-- A signed release rolled out to some of a retailer's cabinets (issue 18): each gets an update_check command
-- naming the version; it pauses itself once failure_limit of them have reported update.failed.
CREATE TABLE IF NOT EXISTS rollouts (
    id TEXT PRIMARY KEY,
    retailer TEXT NOT NULL REFERENCES retailers(name),
    version TEXT NOT NULL,
    failure_limit BIGINT NOT NULL,
    state TEXT NOT NULL,             -- running or paused
    paused_reason TEXT,
    created_at TEXT NOT NULL,
    created_by TEXT,
    report_within_s BIGINT NOT NULL DEFAULT 86400  -- a cabinet silent this long after its command: timed out
);
CREATE TABLE IF NOT EXISTS rollout_cabinets (
    rollout_id TEXT NOT NULL REFERENCES rollouts(id),
    cabinet_id TEXT NOT NULL REFERENCES cabinets(id),
    command_id TEXT,                 -- the newest update_check queued for it
    outcome TEXT,                    -- installed or failed (NULL: not reported yet)
    due_at TEXT,                     -- its report is due by then (the command queued + report_within_s)
    PRIMARY KEY (rollout_id, cabinet_id)
);
CREATE TABLE IF NOT EXISTS payments (
    id TEXT PRIMARY KEY,
    cabinet_id TEXT NOT NULL REFERENCES cabinets(id),
    sale_id TEXT NOT NULL,
    amount_cents INTEGER NOT NULL,
    currency TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('pending', 'paid', 'expired', 'cancelled', 'refunded')),
    created_at TEXT NOT NULL,
    expires_at REAL NOT NULL,        -- unix seconds
    updated_at TEXT NOT NULL,
    UNIQUE (cabinet_id, sale_id)
);
-- Scan-to-pay providers (issue 17): a retailer's provider, its public settings, and its secrets sealed with the
-- server's key (AES-GCM, cloud_stub/payments/credentials.py): never stored, answered or sent to a cabinet in clear.
CREATE TABLE IF NOT EXISTS payment_providers (
    retailer TEXT PRIMARY KEY REFERENCES retailers(name),
    provider TEXT NOT NULL,              -- wechatpay (later alipay, btcpay); none configured: the simulator
    settings TEXT NOT NULL,              -- JSON: the public settings (merchant and app ids, key serials, base URL)
    sealed_secrets BLOB NOT NULL,        -- nonce + AES-GCM ciphertext of the JSON secrets
    updated_at TEXT NOT NULL,
    updated_by TEXT
);
-- Each verified notification of a provider once: a duplicate is acknowledged and changes nothing.
CREATE TABLE IF NOT EXISTS payment_notifications (
    provider TEXT NOT NULL,
    notification_id TEXT NOT NULL,
    payment_id TEXT NOT NULL,
    status TEXT NOT NULL,                -- what it said happened: paid, closed, refunded
    received_at TEXT NOT NULL,
    PRIMARY KEY (provider, notification_id)
);
CREATE TABLE IF NOT EXISTS repair_tickets (
    cabinet_id TEXT NOT NULL REFERENCES cabinets(id),
    ticket_id TEXT NOT NULL,         -- chosen by the cabinet: unique per cabinet, not across the fleet
    device TEXT NOT NULL,
    detail TEXT NOT NULL,
    name TEXT,
    phone TEXT,
    category TEXT,
    status TEXT NOT NULL,            -- one of TICKET_STATUSES (checked by the callers; the list grew)
    -- when each status was reached: the cabinet's clock for its events, the cloud's for a retailer's update
    dropped_off_at TEXT,
    collected_at TEXT,
    returned_at TEXT,
    in_repair_at TEXT,
    handed_back_at TEXT,
    updated_at TEXT NOT NULL,
    PRIMARY KEY (cabinet_id, ticket_id)
);
CREATE TABLE IF NOT EXISTS snapshots (
    cabinet_id TEXT NOT NULL REFERENCES cabinets(id),
    name TEXT NOT NULL,              -- 20261125T174005-opened-<sale_id|none>.jpg, as on the cabinet
    taken_at TEXT NOT NULL,
    bytes INTEGER NOT NULL,
    sha256 TEXT NOT NULL,
    jpeg BLOB NOT NULL,              -- a thumbnail: small enough to live in the database
    received_at TEXT NOT NULL,
    PRIMARY KEY (cabinet_id, name)
);
-- The retailer console (cloud_stub/console): people who sign in, their sessions, the API tokens they manage.
CREATE TABLE IF NOT EXISTS users (
    id TEXT PRIMARY KEY,
    retailer TEXT NOT NULL REFERENCES retailers(name),
    email TEXT NOT NULL UNIQUE,          -- lower-cased: the sign-in name across all retailers
    role TEXT NOT NULL CHECK (role IN ('owner', 'staff', 'technician')),
    password_hash TEXT,                  -- argon2id; NULL until an invited user has chosen a password
    invite_sha256 TEXT UNIQUE,           -- the one-time invitation link's token (shown once, never stored)
    invite_expires_at REAL,
    created_at TEXT NOT NULL,
    created_by TEXT
);
CREATE INDEX IF NOT EXISTS users_by_retailer ON users(retailer, email);
CREATE TABLE IF NOT EXISTS sessions (
    id_sha256 TEXT PRIMARY KEY,          -- the cookie holds the id; a copy of the database does not sign anyone in
    user_id TEXT REFERENCES users(id) ON DELETE CASCADE,  -- NULL: not signed in yet (holds the sign-in form's token)
    csrf_token TEXT NOT NULL,
    created_at REAL NOT NULL,
    expires_at REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS sessions_by_expiry ON sessions(expires_at);
CREATE TABLE IF NOT EXISTS login_failures (
    subject TEXT NOT NULL,               -- "account:<email>" or "ip:<address>"
    at REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS login_failures_by_subject ON login_failures(subject, at);
CREATE TABLE IF NOT EXISTS api_tokens (
    id TEXT PRIMARY KEY,
    retailer TEXT NOT NULL REFERENCES retailers(name),
    label TEXT NOT NULL,
    token_sha256 TEXT NOT NULL UNIQUE,
    created_at TEXT NOT NULL,
    created_by TEXT,                     -- the user's email, or NULL for the token `retailer add` printed
    revoked_at TEXT
);
-- The console's sales read model: one row per sale, kept by store_events from the money events and the
-- refund_needed alarm (in any order: alarms are uploaded first), so the sales and refunds pages read this
-- table and never scan raw events. Days are UTC (the fleet spans time zones), weeks start on Monday.
CREATE TABLE IF NOT EXISTS sales (
    cabinet_id TEXT NOT NULL REFERENCES cabinets(id),
    sale_id TEXT NOT NULL,
    sku TEXT,
    variant_sku TEXT,                    -- the unit paid for (the product's own SKU when it has no variants)
    amount_cents INTEGER,
    currency TEXT,
    method TEXT,                         -- terminal (ZVT) or qr (scan-to-pay)
    method_detail TEXT,                  -- how, where the terminal said: stripe, chip, contactless, wallet
    card TEXT,                           -- the card's brand or name as the terminal named it
    receipt_no TEXT,                     -- the terminal's receipt, or the scan-to-pay payment id
    approved_at TEXT,
    completed_at TEXT,                   -- the door opened and closed: the money is kept
    day TEXT,                            -- completed_at's UTC day, YYYY-MM-DD
    week TEXT,                           -- the Monday of that day's week, YYYY-MM-DD
    unclaimed_at TEXT,                   -- paid, the door never opened: the money goes back
    recorded_late INTEGER NOT NULL DEFAULT 0,  -- an approval the cabinet's failing store wrote late
    reversed_at TEXT,                    -- payment.reversed: the money is back (settled)
    refund_flagged_at TEXT,              -- the newest refund_needed alarm: the cabinet could not give it back
    refund_detail TEXT,
    refund_command_id TEXT,              -- the newest refund an owner asked for from the console
    refund_requested_by TEXT,
    PRIMARY KEY (cabinet_id, sale_id)
);
CREATE INDEX IF NOT EXISTS sales_to_give_back ON sales(cabinet_id, unclaimed_at)
    WHERE unclaimed_at IS NOT NULL OR recorded_late = 1;
-- The sales pages' speed (issue 14). The CSV pages through the completed sales in the order it writes them,
-- the whole fleet's or one cabinet's (the totals come from the rollup below, so the old per-day index goes).
DROP INDEX IF EXISTS sales_by_day;
CREATE INDEX IF NOT EXISTS sales_by_completion
    ON sales(completed_at, cabinet_id, sale_id, day, sku, variant_sku, amount_cents, currency, method)
    WHERE completed_at IS NOT NULL;  -- covering: the export reads the index alone
CREATE INDEX IF NOT EXISTS sales_of_cabinet_by_completion ON sales(cabinet_id, completed_at, sale_id)
    WHERE completed_at IS NOT NULL;
-- The refunds list's order, so that a page of it is read from the index.
CREATE INDEX IF NOT EXISTS sales_to_give_back_in_order
    ON sales(COALESCE(unclaimed_at, approved_at), sale_id, cabinet_id)
    WHERE unclaimed_at IS NOT NULL OR recorded_late = 1;
-- The daily rollup of the completed sales, kept with the sales read model in the same transaction: a count and
-- a sum per UTC day, cabinet, product, variant (the product's own SKU when it has none) and currency, an
-- unknown fact stored as ''; and the same without the product (each cabinet's totals) and without the cabinet
-- (the whole fleet's chart and products). The sales page adds up hundreds or a few thousand of these rows
-- instead of a row per sale; weeks are folded from days.
CREATE TABLE IF NOT EXISTS sales_daily (
    retailer TEXT NOT NULL,
    cabinet_id TEXT NOT NULL,
    day TEXT NOT NULL,
    sku TEXT NOT NULL,
    variant_sku TEXT NOT NULL,
    currency TEXT NOT NULL,
    count INTEGER NOT NULL,
    cents INTEGER NOT NULL,
    PRIMARY KEY (retailer, cabinet_id, day, sku, variant_sku, currency)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS sales_cabinet_daily (
    retailer TEXT NOT NULL,
    cabinet_id TEXT NOT NULL,
    day TEXT NOT NULL,
    currency TEXT NOT NULL,
    count INTEGER NOT NULL,
    cents INTEGER NOT NULL,
    -- the day last: the totals per cabinet come out of the key's order with no sorting (a cabinet's days
    -- outside the range are skipped over, a few hundred a year)
    PRIMARY KEY (retailer, cabinet_id, currency, day)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS sales_fleet_daily (
    retailer TEXT NOT NULL,
    day TEXT NOT NULL,
    sku TEXT NOT NULL,
    variant_sku TEXT NOT NULL,
    currency TEXT NOT NULL,
    count INTEGER NOT NULL,
    cents INTEGER NOT NULL,
    PRIMARY KEY (retailer, day, sku, variant_sku, currency)
) WITHOUT ROWID;
-- The same per way to pay (method, and how where the terminal said: chip, contactless, wallet), per cabinet and
-- product so that every filter of the sales page applies to it too.
CREATE TABLE IF NOT EXISTS sales_method_daily (
    retailer TEXT NOT NULL,
    cabinet_id TEXT NOT NULL,
    day TEXT NOT NULL,
    sku TEXT NOT NULL,
    method TEXT NOT NULL,
    method_detail TEXT NOT NULL,
    currency TEXT NOT NULL,
    count INTEGER NOT NULL,
    cents INTEGER NOT NULL,
    PRIMARY KEY (retailer, day, method, method_detail, cabinet_id, sku, currency)
) WITHOUT ROWID;
-- Media a retailer uploaded (ads, product pictures, narrations), named by content; its cabinets download them.
CREATE TABLE IF NOT EXISTS media (
    retailer TEXT NOT NULL REFERENCES retailers(name),
    sha256 TEXT NOT NULL,                -- of the content: what a configuration names ("sha256:<hex>")
    kind TEXT NOT NULL CHECK (kind IN ('image', 'video', 'audio')),
    content_type TEXT NOT NULL,
    bytes INTEGER NOT NULL,
    name TEXT NOT NULL,                  -- the uploaded file's name, for people
    content BLOB NOT NULL,               -- bounded by kind (sync_client.cabinet_config.MAX_MEDIA_BYTES)
    created_at TEXT NOT NULL,
    created_by TEXT,
    PRIMARY KEY (retailer, sha256)
);
-- Stock and restock (the console's stock pages): the retailer's storefronts (each cabinet is restocked from
-- one), the low-stock threshold and target level per product, and the day's restock lines per cabinet.
CREATE TABLE IF NOT EXISTS storefronts (
    id TEXT PRIMARY KEY,
    retailer TEXT NOT NULL REFERENCES retailers(name),
    name TEXT NOT NULL,
    address TEXT NOT NULL,
    created_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS stock_levels (
    retailer TEXT NOT NULL REFERENCES retailers(name),
    sku TEXT NOT NULL,                   -- a product's SKU: its variants share its threshold and target
    threshold INTEGER NOT NULL,          -- fewer than this left is low
    target INTEGER NOT NULL,             -- a restock brings each variant up to this
    updated_at TEXT NOT NULL,
    updated_by TEXT,
    PRIMARY KEY (retailer, sku)
);
CREATE TABLE IF NOT EXISTS restock_lines (
    id TEXT PRIMARY KEY,
    retailer TEXT NOT NULL REFERENCES retailers(name),
    cabinet_id TEXT NOT NULL REFERENCES cabinets(id),
    storefront_id TEXT,                  -- who brings it (NULL: the cabinet has no storefront yet)
    items TEXT NOT NULL,                 -- JSON [{sku, product_sku, count, bring, expected}]
    planned_at TEXT NOT NULL,
    planned_by TEXT,
    planned_seq INTEGER NOT NULL,        -- the cabinet's newest event then: the restock after it closes the line
    closed_at TEXT,                      -- the cabinet's time of the restock
    closed_by TEXT,                      -- who restocked ("card:…", "pin"), as the cabinet recorded it
    result TEXT                          -- JSON [{sku, expected, recorded, difference}]
);
CREATE INDEX IF NOT EXISTS open_restock_lines ON restock_lines(retailer, cabinet_id) WHERE closed_at IS NULL;
-- Repairs: each status change with who made it, and the customer messages waiting for a notification provider.
CREATE TABLE IF NOT EXISTS ticket_changes (
    cabinet_id TEXT NOT NULL,
    ticket_id TEXT NOT NULL,
    status TEXT NOT NULL,
    at TEXT NOT NULL,
    by TEXT NOT NULL                     -- "cabinet" for the drop-off, else the console user's email or "api"
);
CREATE INDEX IF NOT EXISTS ticket_changes_by_ticket ON ticket_changes(cabinet_id, ticket_id, at);
CREATE TABLE IF NOT EXISTS notification_outbox (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    cabinet_id TEXT NOT NULL,
    ticket_id TEXT NOT NULL,
    status TEXT NOT NULL,                -- the change to tell the customer about
    created_at TEXT NOT NULL,
    sent_at TEXT                         -- NULL: to notify (no provider sends them yet)
);
-- Alarms (events of type 'alarm') as the retailer's people handle them: acknowledged, then resolved, by whom.
CREATE TABLE IF NOT EXISTS alarm_handling (
    event_id TEXT PRIMARY KEY REFERENCES events(id),
    cabinet_id TEXT NOT NULL REFERENCES cabinets(id),
    acknowledged_at TEXT,
    acknowledged_by TEXT,                -- the user's email
    resolved_at TEXT,
    resolved_by TEXT,
    updated_at TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS alarm_handling_by_cabinet ON alarm_handling(cabinet_id, updated_at);
-- The fleet page's read model: one row per cabinet, kept in the transaction that stores its events (and by
-- put_config, set_stock_level, handle_alarm), so the fleet page reads a page of rows and never scans events.
CREATE TABLE IF NOT EXISTS cabinet_status (
    cabinet_id TEXT PRIMARY KEY REFERENCES cabinets(id),
    heartbeat_seq INTEGER,               -- the newest heartbeat (by the cabinet's seq): what it reported then
    heartbeat_at TEXT,
    backlog INTEGER,                     -- unsent events then (NULL: the cabinet does not report it)
    software TEXT,
    faults TEXT NOT NULL DEFAULT '[]',   -- JSON list
    applied_seq INTEGER,                 -- the newest config.applied
    applied_at TEXT,
    applied_version INTEGER,
    rejected_seq INTEGER,                -- the newest config.rejected
    rejected_at TEXT,
    rejected TEXT,                       -- JSON: its payload
    open_alarms INTEGER NOT NULL DEFAULT 0,  -- alarms nobody acknowledged yet
    sales_day TEXT,                      -- the newest UTC day (YYYY-MM-DD) with a completed sale
    sales_count INTEGER NOT NULL DEFAULT 0,  -- that day's sales
    sales_totals TEXT NOT NULL DEFAULT '{}', -- JSON {currency: cents} of that day
    stock_low INTEGER NOT NULL DEFAULT 0,    -- units with fewer left than their product's threshold (not out)
    stock_out INTEGER NOT NULL DEFAULT 0,    -- units with none left
    stock_short TEXT NOT NULL DEFAULT '[]',  -- JSON [[sku, count]] of those, by sku
    place_address TEXT,                  -- the configuration's place
    place_lat REAL,
    place_lon REAL,
    update_seq BIGINT,                   -- the newest update.installed / update.failed / update.refused
    update_state TEXT,                   -- installed, failed (rolled back) or refused (by TUF)
    update_version TEXT,                 -- the version it was about (NULL: a refusal before one was known)
    update_detail TEXT                   -- installed: the version before; failed, refused: the reason
);
-- The newest count of each unit a cabinet reported (stock.changed, restock.recorded), and the units of its
-- configuration (a variant's product, whose threshold applies).
CREATE TABLE IF NOT EXISTS stock_counts (
    cabinet_id TEXT NOT NULL REFERENCES cabinets(id),
    sku TEXT NOT NULL,
    count INTEGER NOT NULL,
    as_of TEXT NOT NULL,                 -- the cabinet's time of the count
    seq INTEGER NOT NULL,                -- of the event that set it: an older event arriving late changes nothing
    PRIMARY KEY (cabinet_id, sku)
);
CREATE TABLE IF NOT EXISTS cabinet_units (
    cabinet_id TEXT NOT NULL REFERENCES cabinets(id),
    sku TEXT NOT NULL,                   -- a variant's, or a product's without variants
    product_sku TEXT NOT NULL,
    PRIMARY KEY (cabinet_id, sku)
);
CREATE INDEX IF NOT EXISTS cabinets_by_retailer ON cabinets(retailer, id);
-- The token each retailer got from `kiosk-cloud retailer add` is its first API token (revocable like any other).
INSERT INTO api_tokens (id, retailer, label, token_sha256, created_at)
    SELECT 'initial:' || name, name, 'initial', token_sha256, created_at FROM retailers WHERE true
    ON CONFLICT DO NOTHING;
"""
# (table, column, definition): commands queued before expiries existed count as long expired.
_ADDED_COLUMNS = (
    ("commands", "expires_at", "TEXT NOT NULL DEFAULT '1970-01-01T00:00:00.000Z'"),
    ("cabinets", "last_seen_at", "TEXT"),  # the last signed request of any kind (a poll too): is it online
    ("cabinets", "storefront_id", "TEXT"),  # the storefront that restocks it
    ("pickup_orders", "created_by", "TEXT"),  # the console user's email (NULL: through the API)
    ("pickup_orders", "reference", "TEXT"),  # the retailer's own note: the customer, the web shop's order number
    ("pickup_orders", "ended_at", "TEXT"),  # cancelled or expired by the retailer: its code leaves the config
    ("pickup_orders", "ended_as", "TEXT"),  # one of ORDER_ENDINGS
    ("pickup_orders", "ended_by", "TEXT"),
    ("repair_tickets", "in_repair_at", "TEXT"),
    ("repair_tickets", "handed_back_at", "TEXT"),
    ("commands", "delivered_at", "TEXT"),  # first handed to the cabinet by its command poll
    ("cabinet_status", "update_seq", "BIGINT"),  # signed updates (issue 18): the newest update.* event
    ("cabinet_status", "update_state", "TEXT"),
    ("cabinet_status", "update_version", "TEXT"),
    ("cabinet_status", "update_detail", "TEXT"),
    ("commands", "created_by", "TEXT"),  # the console user's email (NULL: through the API)
    ("rollouts", "report_within_s", "BIGINT NOT NULL DEFAULT 86400"),  # rollout timeouts (issue 18)
    ("rollout_cabinets", "due_at", "TEXT"),
    # the consumer side's notification provider (cloud_stub/consumer/notify.py): its delivery state
    ("notification_outbox", "delivery", "TEXT NOT NULL DEFAULT 'pending'"),  # pending, delivered or failed
    ("notification_outbox", "attempts", "INTEGER NOT NULL DEFAULT 0"),
    ("notification_outbox", "next_attempt_at", "REAL NOT NULL DEFAULT 0"),  # unix seconds
    ("notification_outbox", "last_error", "TEXT"),
    # pickup codes notified (issue 15): an order's optional phone, and its code in the outbox until delivered
    ("pickup_orders", "phone", "TEXT"),  # normalised (sync_client.schema.normalise_phone); NULL: not notified
    ("notification_outbox", "kind", "TEXT NOT NULL DEFAULT 'repair'"),  # repair (a ticket's change) or pickup
    ("notification_outbox", "order_id", "TEXT"),  # kind pickup: the order (ticket_id is '' then)
    ("notification_outbox", "pickup_code", "TEXT"),  # kind pickup: the code, cleared once delivered or failed
    # scan-to-pay through real providers (issue 17)
    ("payments", "provider", "TEXT NOT NULL DEFAULT 'simulator'"),  # who was asked for the QR code
    ("payments", "provider_ref", "TEXT"),  # the provider's own id (WeChat Pay's transaction_id once paid)
    ("payments", "qr_text", "TEXT"),  # what the cabinet draws (WeChat Pay's code_url); NULL: the simulator's page
    ("payments", "method_detail", "TEXT"),  # how the shopper paid, as the provider says (e.g. wechatpay:BALANCE)
    ("payments", "paid_late_at", "TEXT"),  # paid at the provider after it was cancelled or expired here: refunded
    ("payments", "refunded_at", "TEXT"),
    ("payments", "refunded_by", "TEXT"),  # the cabinet, a console user's email, "api" or "auto" (paid late)
    ("payments", "queried_at", "REAL"),  # unix seconds: the provider was last asked (a late notification)
    # how the shopper paid, as the card terminal said (issue 17)
    ("sales", "method_detail", "TEXT"),
    ("sales", "card", "TEXT"),
    # footfall (issue 15): people counted by the cabinet's camera, the funnel's first two steps
    ("funnel_days", "passers", "BIGINT NOT NULL DEFAULT 0"),
    ("funnel_days", "stoppers", "BIGINT NOT NULL DEFAULT 0"),
    # a call-back continued on the phone (issue 15): its product and the consent the cabinet shows
    ("phone_forms", "sku", "TEXT NOT NULL DEFAULT ''"),
    ("phone_forms", "consent_version", "TEXT NOT NULL DEFAULT ''"),
    ("phone_forms", "consent", "TEXT NOT NULL DEFAULT '{}'"),
)


# The consumer pages' tables: QR hand-off codes derived from each saved configuration, every scan and its
# day's count (the funnel reads the counts), and receipt tokens the cabinets put in payment.approved.
_CONSUMER_SCHEMA = """
CREATE TABLE IF NOT EXISTS link_codes (
    code TEXT PRIMARY KEY,               -- sync_client.cabinet_config.link_code: an HMAC under the cabinet's key
    cabinet_id TEXT NOT NULL REFERENCES cabinets(id),
    kind TEXT NOT NULL,                  -- product, store or repair
    sku TEXT NOT NULL,                   -- '' when not about a product
    variant_sku TEXT NOT NULL,
    target TEXT NOT NULL                 -- where a scan is sent
);
CREATE INDEX IF NOT EXISTS link_codes_by_cabinet ON link_codes(cabinet_id);
CREATE TABLE IF NOT EXISTS qr_scans (
    cabinet_id TEXT NOT NULL,
    code TEXT NOT NULL,                  -- the link's code, or 'receipt' for a receipt opened
    kind TEXT NOT NULL,
    sku TEXT NOT NULL,
    variant_sku TEXT NOT NULL,
    at TEXT NOT NULL                     -- nothing about who scanned: no address, no browser
);
CREATE TABLE IF NOT EXISTS qr_scan_days (
    cabinet_id TEXT NOT NULL,
    day TEXT NOT NULL,                   -- UTC, YYYY-MM-DD
    code TEXT NOT NULL,
    kind TEXT NOT NULL,
    sku TEXT NOT NULL,
    variant_sku TEXT NOT NULL,
    scans INTEGER NOT NULL,
    PRIMARY KEY (cabinet_id, day, code)
);
-- "Continue on your phone": a form the cabinet offers (form.offered) until it lapses, is withdrawn at the
-- cabinet (form.closed) or is submitted (then its values go down as a command).
CREATE TABLE IF NOT EXISTS phone_forms (
    token TEXT PRIMARY KEY,              -- sync_client.schema.FORM_TOKEN_RE: 128 random bits the cabinet made
    cabinet_id TEXT NOT NULL REFERENCES cabinets(id),
    form TEXT NOT NULL,                  -- one of PHONE_FORMS
    expires_s REAL NOT NULL,             -- received + valid_s (at most PHONE_FORM_MAX_S), by the cloud's clock
    opened_at TEXT,
    submitted_at TEXT,
    closed_at TEXT,
    sku TEXT NOT NULL DEFAULT '',        -- a call-back's product
    consent_version TEXT NOT NULL DEFAULT '',  -- a call-back's consent as the cabinet shows it
    consent TEXT NOT NULL DEFAULT '{}'   -- JSON {language: text}
);
CREATE TABLE IF NOT EXISTS receipts (
    token TEXT PRIMARY KEY,              -- sync_client.schema.RECEIPT_TOKEN_RE: 128 random bits
    cabinet_id TEXT NOT NULL REFERENCES cabinets(id),
    sale_id TEXT NOT NULL,
    UNIQUE (cabinet_id, sale_id)
);
-- Call-backs (callback.requested): the only copy of the shopper's number (the events table keeps the event
-- without it), deleted with its history when its retention ends or on request.
CREATE TABLE IF NOT EXISTS callbacks (
    request_id TEXT PRIMARY KEY,
    cabinet_id TEXT NOT NULL REFERENCES cabinets(id),
    sku TEXT NOT NULL,
    phone TEXT NOT NULL,                 -- sync_client.schema.normalise_phone's form
    consent_text TEXT NOT NULL,          -- as the cabinet's screen showed it
    consent_version TEXT NOT NULL,
    language TEXT NOT NULL,
    requested_at TEXT NOT NULL,          -- the cabinet's wall time
    requested_s REAL NOT NULL,           -- the same, unix seconds: the retention counts from it
    received_at TEXT NOT NULL,
    state TEXT NOT NULL DEFAULT 'new'    -- one of CALLBACK_STATES
);
CREATE INDEX IF NOT EXISTS callbacks_by_cabinet ON callbacks(cabinet_id, requested_s);
CREATE TABLE IF NOT EXISTS callback_history (
    request_id TEXT NOT NULL REFERENCES callbacks(request_id) ON DELETE CASCADE,
    at TEXT NOT NULL,
    by TEXT NOT NULL,                    -- the console user's email
    state TEXT NOT NULL,                 -- the state it was moved to (or kept)
    note TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS callback_history_by_request ON callback_history(request_id, at);
"""


# The shopper funnel's read model: per cabinet and UTC day (a session's day is its start's; an ad's plays count
# on the day of their last play; a sale on its completion's, as in the sales read model), kept by store_events
# from session.ended, ad.plays, ad.impression and sale.completed, so the funnel reads sums of a few rows per
# cabinet and day, never events or sales. The same rows are kept for the retailer's whole fleet under its shards'
# keys (fleet_key: "*<retailer>", "*<retailer>#1"...) in cabinet_id, so the fleet's funnel reads a few rows per
# day however many cabinets it has.
# Each event is counted once: only events new to the store reach it, in the transaction that stores them.
_FUNNEL_SCHEMA = """
CREATE TABLE IF NOT EXISTS funnel_days (
    cabinet_id TEXT NOT NULL,
    day TEXT NOT NULL,
    sessions INTEGER NOT NULL DEFAULT 0,     -- a first touch to an idle timeout
    viewed INTEGER NOT NULL DEFAULT 0,       -- sessions that opened a product's page
    checkouts INTEGER NOT NULL DEFAULT 0,    -- sessions that pressed buy
    paid INTEGER NOT NULL DEFAULT 0,         -- sessions whose payment was approved
    sold INTEGER NOT NULL DEFAULT 0,         -- sales completed that day (the sales read model's, counted once)
    passers BIGINT NOT NULL DEFAULT 0,       -- people who passed in front of the cabinet (footfall.counted)
    stoppers BIGINT NOT NULL DEFAULT 0,      -- of them, people who stopped in front of it
    PRIMARY KEY (cabinet_id, day)
);
CREATE TABLE IF NOT EXISTS funnel_products (
    cabinet_id TEXT NOT NULL,
    day TEXT NOT NULL,
    sku TEXT NOT NULL,
    views INTEGER NOT NULL DEFAULT 0,        -- sessions that opened its page
    dwell_s REAL NOT NULL DEFAULT 0,         -- time on its page, all sessions
    turns INTEGER NOT NULL DEFAULT 0,        -- drags of its 360° view
    narrations INTEGER NOT NULL DEFAULT 0,   -- narrations started
    variants INTEGER NOT NULL DEFAULT 0,     -- sessions that chose a variant
    checkouts INTEGER NOT NULL DEFAULT 0,
    paid INTEGER NOT NULL DEFAULT 0,
    sold INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (cabinet_id, day, sku)
);
CREATE TABLE IF NOT EXISTS funnel_exits (
    cabinet_id TEXT NOT NULL,
    day TEXT NOT NULL,
    left_at TEXT NOT NULL,                   -- the screen on show when the session ended
    sessions INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (cabinet_id, day, left_at)
);
CREATE TABLE IF NOT EXISTS funnel_ads (
    cabinet_id TEXT NOT NULL,
    day TEXT NOT NULL,
    ad_id TEXT NOT NULL,
    impressions INTEGER NOT NULL DEFAULT 0,  -- plays
    touches INTEGER NOT NULL DEFAULT 0,      -- sessions whose first touch came while it showed
    PRIMARY KEY (cabinet_id, day, ad_id)
);
"""
