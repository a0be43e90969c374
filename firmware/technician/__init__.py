"""Tools for the technician at the cabinet: `kiosk status`, `kiosk doctor`,
`kiosk logs export`, and the sd_notify client the runtime uses under systemd."""
