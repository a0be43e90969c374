"""The cabinet's durable outbox and local store, and the uploader that talks to the cloud."""
