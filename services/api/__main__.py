"""`python -m services.api [serve]`: wait for the database, migrate, open the keys, serve HTTP and
consume `events` from the broker. Admin commands: `keys init|rotate`, `clients create|list|disable|delete`."""

from services.api.cli import main

raise SystemExit(main())
