"""Hand-made spreadsheet files for the hostile-package tests and bench/ingest_battery.py: what openpyxl would not
write (formulas with or without saved results, a declared used range, cells far away, a sheet streamed in
chunks too large to hold in memory) and typed workbooks (dates, numbers)."""
from __future__ import annotations

import zipfile
from pathlib import Path
from xml.sax.saxutils import escape

__all__ = ["write_xlsx", "row", "workbook"]


def write_xlsx(path: Path, sheets: dict, *, dimensions: dict | None = None, extra: dict | None = None) -> Path:
    """A minimal .xlsx made by hand: `sheets` maps a title to its sheetData XML, or to a function that yields
    the XML in byte chunks (a sheet too large to hold in memory); `extra` adds other zip members."""
    dimensions = dimensions or {}
    ns = "http://schemas.openxmlformats.org"
    ct = [f'<Types xmlns="{ns}/package/2006/content-types">'
          f'<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
          f'<Default Extension="xml" ContentType="application/xml"/>'
          f'<Override PartName="/xl/workbook.xml" '
          f'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>']
    wb = [f'<workbook xmlns="{ns}/spreadsheetml/2006/main" xmlns:r="{ns}/officeDocument/2006/relationships"><sheets>']
    rels = [f'<Relationships xmlns="{ns}/package/2006/relationships">']
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
        for i, (title, body) in enumerate(sheets.items(), 1):
            ct.append(f'<Override PartName="/xl/worksheets/sheet{i}.xml" '
                      f'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/>')
            wb.append(f'<sheet name="{escape(title)}" sheetId="{i}" r:id="rId{i}"/>')
            rels.append(f'<Relationship Id="rId{i}" Target="worksheets/sheet{i}.xml" '
                        f'Type="{ns}/officeDocument/2006/relationships/worksheet"/>')
            dim = f'<dimension ref="{dimensions[title]}"/>' if title in dimensions else ""
            head = f'<worksheet xmlns="{ns}/spreadsheetml/2006/main">{dim}<sheetData>'
            if callable(body):
                with z.open(f"xl/worksheets/sheet{i}.xml", "w", force_zip64=True) as f:
                    f.write(head.encode())
                    for chunk in body():
                        f.write(chunk)
                    f.write(b"</sheetData></worksheet>")
            else:
                z.writestr(f"xl/worksheets/sheet{i}.xml", head + body + "</sheetData></worksheet>")
        z.writestr("[Content_Types].xml", "".join(ct) + "</Types>")
        z.writestr("_rels/.rels", f'<Relationships xmlns="{ns}/package/2006/relationships"><Relationship Id="rId1" '
                                  f'Type="{ns}/officeDocument/2006/relationships/officeDocument" '
                                  f'Target="xl/workbook.xml"/></Relationships>')
        z.writestr("xl/workbook.xml", "".join(wb) + "</sheets></workbook>")
        z.writestr("xl/_rels/workbook.xml.rels", "".join(rels) + "</Relationships>")
        for name, data in (extra or {}).items():
            z.writestr(name, data)
    return path


def row(r: int, *values: str) -> str:
    """One sheetData row of inline strings (an empty value leaves its cell out)."""
    cells = "".join(f'<c r="{chr(65 + i)}{r}" t="inlineStr"><is><t>{escape(v)}</t></is></c>'
                    for i, v in enumerate(values) if v != "")
    return f'<row r="{r}">{cells}</row>'


def workbook(path: Path, sheets: dict[str, list[list]]) -> Path:
    """A workbook written by openpyxl (typed cells: dates, numbers) with one sheet per table."""
    import openpyxl
    wb = openpyxl.Workbook()
    wb.remove(wb.active)
    for title, rows in sheets.items():
        ws = wb.create_sheet(title)
        for r in rows:
            ws.append(r)
    wb.save(path)
    return path
