/*
 * The look of report.html, inline so the page stands alone when downloaded or mailed: system fonts only, nothing
 * fetched. Readable from a 375 px phone to a desktop: the page itself never scrolls sideways — long paths and
 * commands wrap, or scroll inside their own box (code blocks, the flamegraph frame, wide tables).
 */
export const REPORT_CSS = [
  ':root{--fg:#1f2328;--muted:#59636e;--line:#d1d9e0;--bg:#f6f8fa;--card:#fff;--mono:ui-monospace,SFMono-Regular,Menlo,Consolas,"Liberation Mono",monospace;',
  '--crit:#cf222e;--crit-bg:#ffebe9;--warn:#bf8700;--warn-fg:#7d4e00;--warn-bg:#fff8c5;--info:#0969da;--info-bg:#ddf4ff;--good:#1a7f37;--good-bg:#dafbe1;--mute-bg:#eaeef2}',
  '*{box-sizing:border-box}',
  'html{-webkit-text-size-adjust:100%}',
  'body{margin:0;background:var(--bg);color:var(--fg);font:15px/1.5 system-ui,-apple-system,"Segoe UI",Roboto,"Noto Sans",sans-serif;overflow-wrap:anywhere}',
  'main{max-width:1080px;margin:0 auto;padding:24px 20px 40px}',
  'code,pre{font-family:var(--mono);font-size:13px}',
  'a{color:var(--info);text-decoration:none}a:hover{text-decoration:underline}',
  'h2{font-size:16px;margin:28px 0 10px;display:flex;flex-wrap:wrap;align-items:baseline;gap:4px 10px}',
  'h2 small{font-weight:400;color:var(--muted);font-size:13px}',
  '.label{display:inline-block;font-size:11px;font-weight:600;letter-spacing:.04em;text-transform:uppercase;color:var(--muted);margin-right:6px}',
  // Header: what was asked, of what, by whom, and how it went.
  '.top{background:var(--card);border:1px solid var(--line);border-radius:10px;padding:16px 20px}',
  '.eyebrow{font-size:12px;color:var(--muted);letter-spacing:.02em}.eyebrow .id{font-family:var(--mono)}',
  '.title-row{display:flex;flex-wrap:wrap;align-items:center;gap:6px 12px;margin:2px 0 12px}',
  'h1{font-size:24px;line-height:1.2;margin:0;font-weight:650}',
  // Read out ("Investigation inv_…: enospc"), not shown: the line above says it.
  '.sr{position:absolute;width:1px;height:1px;overflow:hidden;clip-path:inset(50%);white-space:nowrap}',
  '.badge{display:inline-block;border-radius:999px;padding:2px 12px;font-size:13px;font-weight:600;border:1px solid currentColor}',
  '.st-succeeded{color:var(--good);background:var(--good-bg)}.st-failed{color:var(--crit);background:var(--crit-bg)}',
  '.st-running{color:var(--info);background:var(--info-bg)}.st-queued,.st-cancelled{color:var(--muted);background:var(--mute-bg)}',
  '.meta{display:grid;grid-template-columns:repeat(auto-fill,minmax(150px,1fr));gap:10px 20px;margin:14px 0 0}',
  '.meta div{min-width:0}.meta .wide{grid-column:1/-1}',
  '.meta dt{font-size:11px;font-weight:600;letter-spacing:.04em;text-transform:uppercase;color:var(--muted)}',
  '.meta dd{margin:2px 0 0}',
  // The answer, before anything else.
  '.headline{background:var(--bg);border-left:6px solid var(--muted);border-radius:6px;padding:12px 16px}',
  '.headline p{margin:0}.headline p:first-child{font-size:19px;line-height:1.4;font-weight:600}',
  '.headline .reason{margin-top:6px;color:var(--muted)}',
  '.headline.sev-critical{border-left-color:var(--crit)}.headline.sev-warning{border-left-color:var(--warn)}.headline.sev-info{border-left-color:var(--info)}',
  // Findings: a card each, the severity as a coloured bar and badge.
  '.count{font-size:12px;font-weight:600;background:var(--mute-bg);border-radius:999px;padding:0 8px}',
  '.card{background:var(--card);border:1px solid var(--line);border-left:6px solid var(--muted);border-radius:10px;padding:14px 18px;margin:0 0 12px;min-width:0}',
  '.card.sev-critical{border-left-color:var(--crit)}.card.sev-warning{border-left-color:var(--warn)}.card.sev-info{border-left-color:var(--info)}',
  '.card-head{display:flex;flex-wrap:wrap;align-items:baseline;gap:4px 10px}',
  '.card h3{font-size:16px;line-height:1.35;margin:0;flex:1 1 240px;min-width:0}',
  '.sev{flex:none;font-size:11px;font-weight:700;letter-spacing:.05em;text-transform:uppercase;border-radius:4px;padding:1px 8px}',
  '.sev-critical .sev{color:#fff;background:var(--crit)}.sev-warning .sev{color:var(--warn-fg);background:var(--warn-bg);border:1px solid var(--warn)}',
  '.sev-info .sev{color:var(--info);background:var(--info-bg)}',
  '.detail{white-space:pre-wrap;margin:8px 0 0}',
  '.next{margin:12px 0 0;background:var(--bg);border:1px solid var(--line);border-radius:8px;padding:10px 12px;position:relative;min-width:0}',
  '.next .label{margin-bottom:6px}',
  'pre.cmd{margin:0;background:#1f2328;color:#f0f3f6;border-radius:6px;padding:10px 12px;overflow-x:auto;white-space:pre;overflow-wrap:normal}',
  '.copy{position:absolute;top:8px;right:10px;font:600 12px system-ui,sans-serif;color:var(--fg);background:var(--card);border:1px solid var(--line);border-radius:6px;padding:2px 10px;cursor:pointer}',
  '.copy:hover{background:var(--mute-bg)}',
  '.fix{margin:8px 0 0}',
  '.confidence{margin:8px 0 0;font-size:14px}',
  '.conf-low strong{color:var(--muted)}',
  '.evidence{margin:10px 0 0}',
  '.evidence ul{margin:4px 0 0;padding-left:20px}',
  '.evidence li{margin:2px 0;overflow-wrap:anywhere}',
  '.evidence a,.evidence code{font-family:var(--mono);font-size:13px}',
  '.evidence code,.evidence .place{color:var(--muted)}',
  '.notes ul{background:var(--card);border:1px solid var(--line);border-radius:10px;margin:0;padding:10px 18px 10px 34px}',
  '.notes li{margin:2px 0}',
  // Tables: steps and top functions. Status colours say how each step went.
  'table{border-collapse:collapse;width:100%;background:var(--card);border:1px solid var(--line);border-radius:10px;overflow:hidden}',
  'th,td{padding:7px 10px;text-align:left;vertical-align:top;border-bottom:1px solid var(--line)}',
  'th{font-size:12px;font-weight:600;color:var(--muted);background:var(--bg)}',
  'tr:last-child td{border-bottom:0}',
  '.num{text-align:right;white-space:nowrap}',
  'td small{color:var(--muted);font-family:var(--mono)}',
  // Tool names break at their hyphens, not inside words.
  'td code{overflow-wrap:normal}',
  '.funcs td:first-child{width:3em;color:var(--muted)}',
  '.note{color:var(--muted)}',
  // A capture over its node's budget: the cost cell in the caution colour; the legend under the table in small print.
  '.over-budget{color:var(--warn-fg);background:var(--warn-bg)}',
  '.legend{color:var(--muted);font-size:12px;margin:6px 2px 0}',
  '.pill{display:inline-block;border-radius:999px;padding:0 9px;font-size:12px;font-weight:600;white-space:nowrap}',
  '.tone-good{color:var(--good);background:var(--good-bg)}.tone-bad{color:var(--crit);background:var(--crit-bg)}',
  '.tone-caution{color:var(--warn-fg);background:var(--warn-bg)}.tone-active{color:var(--info);background:var(--info-bg)}.tone-muted{color:var(--muted);background:var(--mute-bg)}',
  '.scroll{overflow-x:auto;border-radius:10px}',
  '.funcs code{overflow-wrap:anywhere}',
  // The flamegraph: at its natural size, scrolling inside its frame, until the page is wide enough to scale it to fit
  // (800 px: the frame is then at least 758 px wide, where FLAMEGRAPH_FRAME_CSS scales the picture).
  'iframe.fg{display:block;box-sizing:content-box;width:calc(100% - 2px);height:var(--h);max-height:2000px;border:1px solid var(--line);border-radius:10px;background:#fff}',
  '@media (min-width:800px){iframe.fg{height:auto;aspect-ratio:var(--ar)}}',
  '.artifacts{list-style:none;margin:0;padding:6px 0;background:var(--card);border:1px solid var(--line);border-radius:10px}',
  '.artifacts li{padding:5px 16px;display:flex;flex-wrap:wrap;gap:2px 12px;align-items:baseline}',
  '.artifacts a{font-family:var(--mono);font-size:13px;min-width:0}',
  '.size{color:var(--muted);font-size:12px}',
  'footer{margin-top:28px;color:var(--muted);font-size:12px}',
  // A phone: the steps table becomes one block per step, each cell labelled.
  '@media (max-width:640px){main{padding:12px 10px 28px}.top,.card{padding:12px 14px}.headline{padding:10px 12px}h1{font-size:21px}',
  '.headline p:first-child{font-size:17px}.meta{gap:8px 14px}',
  'table.steps thead{display:none}table.steps tr{display:block;border-bottom:1px solid var(--line)}table.steps tr:last-child{border-bottom:0}',
  'table.steps td{display:flex;gap:10px;border:0;padding:3px 12px;text-align:left}table.steps td:first-child{padding-top:9px}table.steps td:last-child{padding-bottom:9px}',
  'table.steps td::before{content:attr(data-label);flex:0 0 72px;font-size:11px;font-weight:600;text-transform:uppercase;letter-spacing:.04em;color:var(--muted);padding-top:2px}',
  'table.steps td.num{white-space:normal}table.steps td:empty{display:none}}',
  '@media print{body{background:#fff}.copy{display:none}iframe{break-inside:avoid}}',
].join('\n');

/** Put before a flamegraph's SVG in its frame: no margin, and scaled to the frame's width once that is 758 px or more. */
export const FLAMEGRAPH_FRAME_CSS = '<style>body{margin:0}@media (min-width:758px){svg{display:block;width:100%;height:auto}}</style>';

/**
 * A "Copy" button on each command block, added by script so a page without it shows no dead button. The clipboard
 * API needs a secure context (https, or loopback); elsewhere the commands are selected and copied the old way.
 */
export const REPORT_SCRIPT = `(function(){
function select(el){var r=document.createRange();r.selectNodeContents(el);var s=window.getSelection();s.removeAllRanges();s.addRange(r);}
document.querySelectorAll('pre.cmd').forEach(function(pre){
  var b=document.createElement('button');b.type='button';b.className='copy';b.textContent='Copy';
  b.setAttribute('aria-label','Copy the commands');
  var said=function(t){b.textContent=t;setTimeout(function(){b.textContent='Copy';},1500);};
  b.addEventListener('click',function(){
    var text=pre.textContent;
    if(navigator.clipboard&&window.isSecureContext){navigator.clipboard.writeText(text).then(function(){said('Copied');},function(){select(pre);said('Press Ctrl-C');});return;}
    select(pre);said(document.execCommand&&document.execCommand('copy')?'Copied':'Press Ctrl-C');
  });
  pre.parentNode.insertBefore(b,pre);
});
})();`;
