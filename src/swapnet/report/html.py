# ruff: noqa: E501 - the embedded CSS and JavaScript keep their own line lengths
"""A self-contained HTML report: one file, an interactive SVG map that works offline, tables and figures.

The map is inline SVG drawn in Web Mercator metres (lon/lat networks) or in the
network's planar coordinates, with about a hundred lines of vanilla JavaScript
for pan (drag), zoom (wheel, buttons), station popups (click) and a scale bar.
Service areas are buffers, in metres on the ground, around the demand nodes
each station serves. Map tiles from tile.openstreetmap.org are an opt-in
checkbox, fetched only when the browser is online; without them (and without
any network access) the map is complete. Figures are embedded as base64 PNG.
Script errors, should any occur, are written into the page (``#js-errors``)
and the body gets ``data-map-ready="1"`` once the map is drawn.
"""

from __future__ import annotations

import base64
import html
import json
import math
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from swapnet.report._files import column_formatters
from swapnet.report.figures import distinct_colours
from swapnet.report.inputs import ReportInputs, SanityFlag, served_mask, stations_table

__all__ = ["html_report", "map_svg"]

_R = 6_378_137.0  # Web Mercator sphere radius, m
_UNIT_M = {"m": 1.0, "km": 1000.0, "mi": 1609.344}


def _project(inp: ReportInputs) -> tuple[np.ndarray[Any, Any], float, str]:
    """Node positions in map metres (x east, y north), ground metres per map metre, and the unit name."""
    net = inp.network
    assert net.coords is not None
    xy = np.asarray(net.coords, dtype=np.float64)
    if net.coord_crs == "lonlat":
        lat = np.clip(xy[:, 1], -85.0, 85.0)
        X = _R * np.radians(xy[:, 0])
        Y = _R * np.log(np.tan(np.pi / 4 + np.radians(lat) / 2))
        lat0 = float(np.radians((lat.min() + lat.max()) / 2))
        return np.column_stack([X, Y]), math.cos(lat0), "m"
    f = _UNIT_M.get(net.length_unit)
    if f is None:
        return xy.copy(), 1.0, "coordinate units"
    return xy * f, 1.0, "m"


def _path_of(geom: Any, digits: int = 1) -> str:
    """SVG path data of a shapely (Multi)Polygon in map metres (y flipped)."""
    polys = list(getattr(geom, "geoms", [geom]))
    parts: list[str] = []
    for poly in polys:
        if poly.is_empty:
            continue
        for ring in [poly.exterior, *poly.interiors]:
            c = np.asarray(ring.coords)
            pts = " L".join(f"{x:.{digits}f} {-y:.{digits}f}" for x, y in c)
            parts.append(f"M{pts} Z")
    return " ".join(parts)


def _service_areas(inp: ReportInputs, P: np.ndarray[Any, Any], ground: float) -> list[str]:
    """One SVG path per station: its served demand nodes (or its own node) buffered by the radius in metres."""
    import shapely

    net = inp.network
    r_m = inp.service_buffer_m
    if r_m is None:
        med = float(np.median(net.lengths)) * _UNIT_M.get(net.length_unit, 1000.0) if net.lengths.size else 200.0
        r_m = max(100.0, 2.0 * med)
    r = r_m / ground  # map metres
    nodes, _, colour = served_mask(inp)
    st_nodes = inp.site_nodes()
    st_idx = net.index_of(list(st_nodes)) if st_nodes else np.zeros(0, dtype=np.int64)
    d_idx = net.index_of(nodes) if nodes else np.zeros(0, dtype=np.int64)
    out: list[str] = []
    for k in range(len(st_nodes)):
        pts = np.concatenate([P[d_idx[colour == k]], P[st_idx[k : k + 1]]])
        geom = shapely.union_all(shapely.buffer(shapely.points(pts), r, quad_segs=6)).simplify(r / 8)
        out.append(_path_of(geom))
    return out


def _trip_links(inp: ReportInputs, P: np.ndarray[Any, Any]) -> list[str]:
    """OD studies: each link's offered (orange) and refuelled (blue) EV trips per day as line widths."""
    from swapnet.report.figures import _edge_volumes

    net, tr = inp.network, inp.trips
    assert tr is not None
    flows = tr.flows
    paths = [net.index_of(p) for p in net.shortest_paths(flows.origins, flows.destinations)]
    covered = inp.siting.assignment["covered"].to_numpy(dtype=bool)
    vol = np.asarray(flows.volumes, dtype=np.float64)
    out: list[str] = []
    offered = _edge_volumes(paths, vol)
    top = max(offered.values(), default=1.0)
    for vols, colour in ((offered, "#ff7f0e"), (_edge_volumes(paths, np.where(covered, vol, 0.0)), "#1f77b4")):
        for (a, b), v in vols.items():
            out.append(
                f'<path class="trips" d="M{P[a, 0]:.1f} {-P[a, 1]:.1f}L{P[b, 0]:.1f} {-P[b, 1]:.1f}" stroke="{colour}" '
                f'stroke-width="{0.8 + 9.0 * v / top:.2f}" stroke-opacity="0.75" stroke-linecap="round" '
                f'vector-effect="non-scaling-stroke"><title>{v:,.0f} EV trips/day</title></path>'
            )
    return out


def map_svg(inp: ReportInputs, *, width: int = 960, height: int = 640) -> str:
    """The report's map as an SVG element (plus its data and controls), to embed in HTML."""
    net = inp.network
    if net.coords is None:
        return "<p><em>The network has no coordinates, so there is no map.</em></p>"
    P, ground, unit = _project(inp)
    lo, hi = P.min(axis=0), P.max(axis=0)
    span = np.maximum(hi - lo, 1.0)
    pad = 0.05 * span
    vb = (lo[0] - pad[0], -(hi[1] + pad[1]), span[0] + 2 * pad[0], span[1] + 2 * pad[1])
    t, h = net.tails, net.heads
    a, b = np.minimum(t, h), np.maximum(t, h)
    keep = a != b
    pairs = np.unique(np.column_stack([a[keep], b[keep]]), axis=0) if keep.any() else np.zeros((0, 2), dtype=np.int64)
    edges = " ".join(f"M{P[i, 0]:.1f} {-P[i, 1]:.1f}L{P[j, 0]:.1f} {-P[j, 1]:.1f}" for i, j in pairs.tolist())
    st = stations_table(inp)
    cols = distinct_colours(len(st))
    nodes, daily, colour = served_mask(inp)
    parts: list[str] = [
        f'<svg id="map" xmlns="http://www.w3.org/2000/svg" viewBox="{vb[0]:.1f} {vb[1]:.1f} {vb[2]:.1f} {vb[3]:.1f}" '
        f'width="{width}" height="{height}" preserveAspectRatio="xMidYMid meet">',
        '<g id="tiles"></g>',
        f'<path id="streets" d="{edges}" fill="none" stroke="#9a9a9a" stroke-width="1" '
        'vector-effect="non-scaling-stroke"/>',
        '<g id="areas">',
    ]
    if inp.trips is None:
        for k, d in enumerate(_service_areas(inp, P, ground)):
            parts.append(
                f'<path class="area" d="{d}" fill="{cols[k]}" fill-opacity="0.22" stroke="{cols[k]}" '
                'stroke-width="1" vector-effect="non-scaling-stroke" fill-rule="evenodd"/>'
            )
    else:
        parts.extend(_trip_links(inp, P))
    parts.append('</g><g id="demand">')
    if nodes:
        di = net.index_of(nodes)
        top = max(float(daily.max(initial=0.0)), 1e-9)
        for i, q, c in zip(di.tolist(), daily.tolist(), colour.tolist(), strict=True):
            rpx = 1.5 + 4.0 * math.sqrt(q / top)
            if c < 0:
                parts.append(
                    f'<circle class="unserved" cx="{P[i, 0]:.1f}" cy="{-P[i, 1]:.1f}" r="1" data-r="{rpx + 1:.1f}" '
                    f'fill="none" stroke="#222" stroke-width="1.5" vector-effect="non-scaling-stroke">'
                    f"<title>unserved: {q:,.1f} swaps/day</title></circle>"
                )
            else:
                parts.append(
                    f'<circle class="demand" cx="{P[i, 0]:.1f}" cy="{-P[i, 1]:.1f}" r="1" data-r="{rpx:.1f}" '
                    f'fill="{cols[c]}" fill-opacity="0.8"/>'
                )
    parts.append('</g><g id="stations">')
    size_col = next((c for c in ("batteries", "swaps_per_day", "ops_served") if c in st.columns), None)
    sizes = st[size_col].to_numpy(dtype=np.float64) if size_col else np.ones(len(st))
    sizes = np.nan_to_num(sizes, nan=0.0)
    smax = max(float(sizes.max(initial=0.0)), 1e-9)
    s_idx = net.index_of(list(st["node"])) if len(st) else np.zeros(0, dtype=np.int64)
    for k, i in enumerate(s_idx.tolist()):
        rpx = 6.0 + 8.0 * math.sqrt(max(sizes[k], 0.0) / smax)
        parts.append(
            f'<circle class="station" data-i="{k}" cx="{P[i, 0]:.1f}" cy="{-P[i, 1]:.1f}" r="1" data-r="{rpx:.1f}" '
            f'fill="{cols[k]}" stroke="#000" stroke-width="1.5" vector-effect="non-scaling-stroke">'
            f"<title>{html.escape(str(st['name'].iloc[k]))}</title></circle>"
        )
    parts.append("</g></svg>")
    records = [{str(c): _jsonable(v) for c, v in row.items()} for row in st.to_dict(orient="records")]
    meta = {
        "ground": ground,
        "unit": unit,
        "lonlat": net.coord_crs == "lonlat",
        "vb": list(vb),
        "stations": records,
        "attribution": inp.attribution or "",
    }
    what = (
        '<span><i class="sw dm"></i>served demand</span><span><i class="sw un"></i>unserved demand'
        '</span><span><i class="sw ar"></i>service area (buffer around served demand)</span>'
        if inp.trips is None
        else '<span><i class="sw tr off"></i>offered EV trips per link (width)</span>'
        '<span><i class="sw tr ref"></i>refuelled EV trips per link (width)</span>'
    )
    legend = (
        '<div class="legend"><span><i class="sw st"></i>station (size: '
        + html.escape(size_col or "open")
        + ")</span>"
        + what
        + "</div>"
    )
    controls = (
        '<div class="controls"><button id="zin" title="zoom in">+</button><button id="zout" title="zoom out">−</button>'
        '<button id="zreset" title="whole network">⌂</button>'
        + ('<label><input type="checkbox" id="tiles-on"> OSM tiles (online)</label>' if meta["lonlat"] else "")
        + "</div>"
    )
    attribution = f'<div class="attr" id="attr">{html.escape(inp.attribution or "")}</div>'
    return (
        f'<div class="mapbox">{"".join(parts)}{controls}<div class="scale"><div id="scalebar"></div>'
        f'<span id="scalelabel"></span></div>{attribution}<div id="popup" hidden></div></div>{legend}'
        f'<script type="application/json" id="map-data">{_script_json(meta)}</script>'
    )


def _jsonable(v: Any) -> Any:
    if isinstance(v, np.generic):
        v = v.item()
    if isinstance(v, float):
        return v if math.isfinite(v) else None
    if v is None or isinstance(v, (bool, int, str)):
        return v
    return str(v)


def _script_json(obj: Any) -> str:
    return json.dumps(obj, ensure_ascii=False).replace("</", "<\\/")


def _table_html(df: pd.DataFrame) -> str:
    head = "".join(f"<th>{html.escape(str(c))}</th>" for c in df.columns)
    fmts = column_formatters([str(c) for c in df.columns])
    rows = "".join(
        "<tr>" + "".join(f"<td>{html.escape(f(v))}</td>" for f, v in zip(fmts, r, strict=True)) + "</tr>"
        for r in df.itertuples(index=False)
    )
    return f"<table><thead><tr>{head}</tr></thead><tbody>{rows}</tbody></table>"


_CSS = """
body{font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:1.5em auto;max-width:1100px;color:#222;padding:0 1em}
h1{font-size:1.6em}h2{font-size:1.25em;margin-top:1.6em;border-bottom:1px solid #ddd}
table{border-collapse:collapse;font-size:.85em;margin:.5em 0;display:block;overflow-x:auto}
td,th{border:1px solid #ccc;padding:.2em .5em;text-align:right}th{background:#f3f3f3}
.mapbox{position:relative;display:inline-block;border:1px solid #bbb;background:#fbfbf8}
#map{display:block;cursor:grab;touch-action:none}#map.drag{cursor:grabbing}
.controls{position:absolute;top:8px;left:8px;display:flex;gap:4px;align-items:center;font-size:.85em}
.controls button{width:2em;height:2em;font-size:1em;background:#fff;border:1px solid #999;border-radius:3px}
.controls label{background:#fffc;padding:.2em .4em;border-radius:3px}
.scale{position:absolute;left:10px;bottom:10px;font-size:.8em;background:#fffc;padding:2px 4px}
#scalebar{height:6px;border:1px solid #000;border-top:none;background:#fff}
.attr{position:absolute;right:4px;bottom:4px;font-size:.75em;background:#fffc;padding:1px 4px}
#popup{position:absolute;background:#fff;border:1px solid #555;border-radius:4px;padding:.4em .6em;font-size:.85em;
box-shadow:0 2px 6px #0004;pointer-events:auto;max-width:320px}
#popup table{font-size:1em;display:table}#popup td{border:none;padding:0 .4em 0 0;text-align:left}
.legend{font-size:.85em;margin:.3em 0 1em}.legend span{margin-right:1.2em}
.sw{display:inline-block;width:12px;height:12px;margin-right:4px;vertical-align:middle;border-radius:50%}
.sw.st{background:#1f77b4;border:2px solid #000}.sw.dm{background:#ff7f0e;width:8px;height:8px}
.sw.un{border:2px solid #222;width:8px;height:8px}.sw.ar{background:#2ca02c44;border:1px solid #2ca02c;border-radius:2px}
.sw.tr{border-radius:0;height:4px;width:18px}.sw.off{background:#ff7f0e}.sw.ref{background:#1f77b4}
.flags{background:#fff4e5;border-left:4px solid #e67e22;padding:.5em 1em}
#js-errors{color:#b00;white-space:pre-wrap}
img{max-width:100%}
"""

_JS = r"""
(function(){
var svg=document.getElementById('map');if(!svg){document.body.setAttribute('data-map-ready','1');return;}
var meta=JSON.parse(document.getElementById('map-data').textContent);
var vb=meta.vb.slice(),home=meta.vb.slice();
function upp(){var s=Math.max(vb[2]/svg.clientWidth,vb[3]/svg.clientHeight);return s;}
function draw(){
  svg.setAttribute('viewBox',vb.join(' '));var u=upp();
  var cs=svg.querySelectorAll('circle[data-r]');
  for(var i=0;i<cs.length;i++){cs[i].setAttribute('r',parseFloat(cs[i].getAttribute('data-r'))*u);}
  var mpp=u*meta.ground,target=110*mpp,p=Math.pow(10,Math.floor(Math.log10(target))),len=p;
  [1,2,5,10].forEach(function(m){if(m*p<=target)len=m*p;});
  document.getElementById('scalebar').style.width=(len/mpp).toFixed(0)+'px';
  document.getElementById('scalelabel').textContent=meta.unit==='m'?(len>=1000?(len/1000)+' km':len+' m'):len+' '+meta.unit;
  if(tilesOn())tiles();
}
function toMap(ev){var r=svg.getBoundingClientRect(),u=upp();
  var ox=vb[0]+(vb[2]-r.width*u)/2,oy=vb[1]+(vb[3]-r.height*u)/2;
  return [ox+(ev.clientX-r.left)*u,oy+(ev.clientY-r.top)*u];}
function zoom(f,c){if(!c)c=[vb[0]+vb[2]/2,vb[1]+vb[3]/2];
  vb=[c[0]-(c[0]-vb[0])*f,c[1]-(c[1]-vb[1])*f,vb[2]*f,vb[3]*f];draw();}
svg.addEventListener('wheel',function(ev){ev.preventDefault();zoom(ev.deltaY>0?1.25:0.8,toMap(ev));},{passive:false});
var drag=null;
svg.addEventListener('pointerdown',function(ev){if(ev.target.classList.contains('station'))return;
  drag=[ev.clientX,ev.clientY,vb[0],vb[1]];svg.classList.add('drag');});
window.addEventListener('pointermove',function(ev){if(!drag)return;var u=upp();
  vb[0]=drag[2]-(ev.clientX-drag[0])*u;vb[1]=drag[3]-(ev.clientY-drag[1])*u;draw();});
window.addEventListener('pointerup',function(){drag=null;svg.classList.remove('drag');});
document.getElementById('zin').onclick=function(){zoom(0.67);};
document.getElementById('zout').onclick=function(){zoom(1.5);};
document.getElementById('zreset').onclick=function(){vb=home.slice();draw();};
var pop=document.getElementById('popup');
function esc(s){return String(s).replace(/[&<>"]/g,function(c){return {'&':'&amp;','<':'&lt;','>':'&gt;','"':'&quot;'}[c];});}
function fmt(v){return typeof v==='number'?(Math.abs(v)>=100||Number.isInteger(v)?v.toLocaleString('en',{maximumFractionDigits:0}):v.toPrecision(4)):v;}
var st=svg.querySelectorAll('circle.station');
for(var i=0;i<st.length;i++){st[i].addEventListener('click',function(ev){
  var s=meta.stations[parseInt(this.getAttribute('data-i'),10)],rows='';
  for(var k in s){if(s[k]!==null&&s[k]!=='')rows+='<tr><td>'+esc(k)+'</td><td>'+esc(fmt(s[k]))+'</td></tr>';}
  pop.innerHTML='<b>'+esc(s.name)+'</b><table>'+rows+'</table>';pop.hidden=false;
  var r=svg.parentNode.getBoundingClientRect();pop.style.left=(ev.clientX-r.left+12)+'px';pop.style.top=(ev.clientY-r.top+12)+'px';
  ev.stopPropagation();});}
svg.addEventListener('click',function(ev){if(!ev.target.classList.contains('station'))pop.hidden=true;});
var tbox=document.getElementById('tiles-on');
function tilesOn(){return !!(tbox&&tbox.checked&&navigator.onLine);}
function tiles(){var g=document.getElementById('tiles');while(g.firstChild)g.removeChild(g.firstChild);
  if(!tilesOn())return;var W=2*Math.PI*6378137,u=upp(),z=Math.max(0,Math.min(19,Math.round(Math.log2(W/(256*u)))));
  var T=W/Math.pow(2,z),x0=Math.floor((vb[0]+W/2)/T),x1=Math.floor((vb[0]+vb[2]+W/2)/T),y0=Math.floor((vb[1]+W/2)/T),y1=Math.floor((vb[1]+vb[3]+W/2)/T);
  if((x1-x0+1)*(y1-y0+1)>64)return;
  for(var x=x0;x<=x1;x++)for(var y=y0;y<=y1;y++){var im=document.createElementNS('http://www.w3.org/2000/svg','image');
    im.setAttribute('href','https://tile.openstreetmap.org/'+z+'/'+x+'/'+y+'.png');
    im.setAttribute('x',x*T-W/2);im.setAttribute('y',y*T-W/2);im.setAttribute('width',T);im.setAttribute('height',T);
    im.setAttribute('opacity','0.6');g.appendChild(im);}
  var a=document.getElementById('attr');if(a.textContent.indexOf('OpenStreetMap')<0)a.textContent='© OpenStreetMap contributors';}
if(tbox)tbox.addEventListener('change',function(){if(!this.checked){tiles();document.getElementById('attr').textContent=meta.attribution;}draw();});
draw();
document.body.setAttribute('data-stations',String(st.length));
document.body.setAttribute('data-map-ready','1');
})();
"""

_ERRORS_JS = (
    "window.addEventListener('error',function(e){var p=document.getElementById('js-errors');"
    "if(p){p.textContent+=(e.message||'error')+'\\n';}document.documentElement.setAttribute('data-js-error','1');});"
)


def html_report(
    inp: ReportInputs,
    tables: Mapping[str, pd.DataFrame],
    titles: Mapping[str, str],
    figures: Sequence[tuple[Path, str]],
    flags: Sequence[SanityFlag],
) -> str:
    """The whole report as one HTML document (map, sanity flags, snap table, tables, figures)."""
    e = html.escape
    body: list[str] = [f"<h1>{e(inp.title)}</h1>"]
    if inp.summary:
        body.append(f"<p>{e(inp.summary)}</p>")
    if inp.timings:
        body.append("<p>Stage times (s): " + e(", ".join(f"{k} {v:.1f}" for k, v in inp.timings.items())) + ".</p>")
    if flags:
        items = "".join(f"<li><b>{e(f.metric)}</b> = {e(f.shown)} ({e(f.limit)}): {e(f.why)}</li>" for f in flags)
        body.append(f'<div class="flags"><h2>Sanity flags</h2><ul>{items}</ul></div>')
    body.append("<h2>Map</h2>")
    body.append(map_svg(inp))
    if inp.snap is not None and len(inp.snap):
        d = inp.snap["distance_m"].to_numpy(dtype=np.float64)
        body.append(
            f"<details><summary>Snap table: {len(d)} sites, median {np.median(d):,.0f} m, max {d.max():,.0f} m to "
            f"their node</summary>{_table_html(inp.snap)}</details>"
        )
    for name, title in titles.items():
        if name in tables:
            body.append(f"<h2>{e(title)}</h2>{_table_html(tables[name])}")
    if figures:
        body.append("<h2>Figures</h2>")
        for path, caption in figures:
            data = base64.b64encode(Path(path).read_bytes()).decode("ascii")
            body.append(f'<figure><img alt="{e(caption)}" src="data:image/png;base64,{data}"><figcaption>{e(caption)}'
                        "</figcaption></figure>")  # fmt: skip
    return (
        '<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">'
        f'<meta name="viewport" content="width=device-width, initial-scale=1"><title>{e(inp.title)}</title>'
        f"<script>{_ERRORS_JS}</script><style>{_CSS}</style></head><body>"
        '<pre id="js-errors"></pre>' + "".join(body) + f"<script>{_JS}</script></body></html>"
    )
