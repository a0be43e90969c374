"""The cabinet's local store behind repositories: one module per table (or per small group of tables
written together), each owning its SQL and returning frozen dataclasses.

The schema itself (every table, in an ordered list of migrations) is in ``migrations``; the outbox
(sync_client/outbox.py) applies it when it opens the database and owns the events. A write that must
commit with an event takes the caller's open ``Transaction``: the money rule (an approval, the sale's
state and the stock change together with ``payment.approved``, durably) is one transaction whatever
the number of repositories it touches.

    sales             sales and their state (firmware/journeys/sale.py)
    pickups           online orders collected, their codes used up (pickup.py)
    restocks          every restock's door opening (restock.py)
    attempt_guards    wrong-guess counts and locks of the PIN pads and pickup codes
    fingerprint_slots the fingerprint module's slots the cabinet enrolled and a configuration named
    stock             the count of each product
    repair_tickets    vehicles dropped off for repair
    service_records   the technician's audit trail, the last self-test, the touch calibration
    commands          commands from the cloud, applied once
    config_cache      the configuration in force and the ones refused
    store_meta        the store's identity and small facts about it
    readonly          the technician's read-only view of a store of any version (kiosk status, doctor)
    (sync_client/pending_actions.py: actions that must follow a commit)
"""
