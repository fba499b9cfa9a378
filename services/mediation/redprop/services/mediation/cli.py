"""``redprop mediation agreement CASE --as PERSON --out FILE.html``: a case's mediation agreement as a printable
document.

It asks the running mediation service over RPC (``get_case``, the published contract) as the person printing it
and writes one self-contained HTML file: a draft to print and sign, or the agreement in effect. The parties'
particulars (Art. 29 item 1) are in it only if that person may see them (a mediator of the case, a worker or
officer covering it, a data officer, a party); otherwise they are masked (mediation 2.4, PIPL).
"""

from __future__ import annotations

from pathlib import Path

from redprop.config import Settings
from redprop.services.mediation.agreement_document import render


def write_agreement(rpc, settings: Settings, case_id: str, out: Path, viewer_id: str | None = None) -> Path:
    case = rpc.mediation.get_case(case_id=case_id, viewer_id=viewer_id).case
    html = render(case, committee=f"{settings.district_name or settings.district} 人民调解委员会")
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(html, encoding="utf-8")
    return out


def cmd_agreement(args, settings: Settings) -> int:
    from redprop.messaging.client import RpcClient

    with RpcClient(settings, timeout=args.timeout) as rpc:
        try:
            out = write_agreement(rpc, settings, args.case, Path(args.out), viewer_id=args.viewer)
        except ValueError as exc:  # the case has no agreement yet
            print(f"error: {exc}")
            return 1
    print(f"wrote {out} ({out.stat().st_size / 1024:.0f} KB)")
    return 0


def register(sub) -> None:
    p = sub.add_parser("mediation", help="mediation tools: a case's agreement as a document")
    msub = p.add_subparsers(dest="mediation_command", required=True)
    q = msub.add_parser("agreement", help="write a case's mediation agreement (人民调解协议书) as printable HTML")
    q.add_argument("case", help="the case id")
    q.add_argument("--as", dest="viewer", required=True, metavar="PERSON",
                   help="the registry person printing it (the parties' particulars are masked unless they may see them)")
    q.add_argument("--out", required=True, help="the HTML file to write")
    q.add_argument("--timeout", type=float, default=None, help="seconds to wait for the reply")
    q.set_defaults(func=cmd_agreement)
