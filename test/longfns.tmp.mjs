import ts from "typescript"; import fs from "fs"; import path from "path";
function walk(d, out=[]) { for (const e of fs.readdirSync(d,{withFileTypes:true})) { const p=path.join(d,e.name); if (e.isDirectory()) walk(p,out); else if (p.endsWith(".ts")) out.push(p);} return out; }
for (const f of walk(process.argv[2])) { const src=ts.createSourceFile(f, fs.readFileSync(f,"utf8"), ts.ScriptTarget.Latest, true);
 const visit=(n)=>{ if (ts.isFunctionLike(n) && n.body) { const s=src.getLineAndCharacterOfPosition(n.getStart()).line, e=src.getLineAndCharacterOfPosition(n.end).line; if (e-s+1>120) console.log(e-s+1, f, s+1, n.name?.getText?.()??""); } ts.forEachChild(n,visit); }; visit(src); }
