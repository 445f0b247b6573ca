"""Start the desktop application: ``fathom``, ``fathom gui [SCAN|demo]`` or ``python -m app``."""

from __future__ import annotations

import argparse
import sys


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="fathom gui", description="Open the Fathom desktop application.")
    parser.add_argument("scan", nargs="?", help="a scan to open at start (a path, or 'demo')")
    parser.add_argument("--basic-viewer", action="store_true",
                        help="inspect with the plain slice view instead of the 3D viewer")
    return parser


def create_application():
    """The QApplication with Fathom's names (settings and data folders follow them) and style."""
    from PySide6.QtCore import QCoreApplication, Qt
    from PySide6.QtWidgets import QApplication

    from .settings import APPLICATION, ORGANIZATION
    from .style import apply_style

    QCoreApplication.setOrganizationName(ORGANIZATION)
    QCoreApplication.setApplicationName(APPLICATION)
    if QApplication.instance() is None:
        QCoreApplication.setAttribute(Qt.ApplicationAttribute.AA_ShareOpenGLContexts)
    app = QApplication.instance() or QApplication(["fathom"])
    apply_style(app)
    return app


def main(argv: list[str] | None = None) -> int:
    """Run the application until its window closes; returns the exit code."""
    # parse_known_args: a bare ``fathom -v`` reaches here with the command line's own options
    args, _unknown = build_parser().parse_known_args(sys.argv[1:] if argv is None else argv)
    from .logs import install_excepthook
    from .main_window import MainWindow

    app = create_application()
    window = MainWindow(use_3d_viewer=not args.basic_viewer)
    install_excepthook(lambda text: window.show_message(text, "error"))
    window.show()
    if args.scan:
        window.open_scan(args.scan)
    code = app.exec()
    return int(code)


if __name__ == "__main__":
    sys.exit(main())
