from milink_tui.cli import main

raise SystemExit(main())
