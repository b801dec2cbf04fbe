from digest.app.cli import main

raise SystemExit(main())
