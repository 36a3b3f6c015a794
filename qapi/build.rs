//! Generates the Rust side of the QMP schema from `schema/*.json` (QAPI's
//! schema language) into OUT_DIR: types, the command trait and dispatcher,
//! the events, and `query-qmp-schema`'s answer.

#[path = "gen/introspect.rs"]
mod introspect;
#[path = "gen/model.rs"]
mod model;
#[path = "gen/parser.rs"]
mod parser;
#[path = "gen/rust.rs"]
mod rust;

use std::path::PathBuf;
use std::{env, fs, process};

use parser::SchemaExpr;

fn generate() -> Result<(), String> {
    let dir = PathBuf::from(env::var("CARGO_MANIFEST_DIR").map_err(|e| e.to_string())?);
    let out_dir = PathBuf::from(env::var("OUT_DIR").map_err(|e| e.to_string())?);
    println!("cargo:rerun-if-changed=schema");
    println!("cargo:rerun-if-changed=gen");

    let exprs = parser::read_schema_file(&dir.join("schema/qapi-schema.json"))?;
    let files: Vec<PathBuf> = exprs.iter().map(|(f, _)| f.clone()).collect();
    let plain: Vec<SchemaExpr> = exprs.into_iter().map(|(_, e)| e).collect();
    let schema = model::build_schema(&plain).map_err(|e| {
        // Errors carry the line where the expression starts; name the
        // files with an expression there.
        let candidates: Vec<String> = plain
            .iter()
            .zip(&files)
            .filter(|(x, _)| x.line == e.line)
            .map(|(_, f)| f.display().to_string())
            .collect();
        format!("{}:{}: {}", candidates.join(" or "), e.line, e.message)
    })?;

    let names = rust::Names::new(&schema);
    let write = |name: &str, text: String| {
        fs::write(out_dir.join(name), text).map_err(|e| format!("{name}: {e}"))
    };
    write("types.rs", rust::types(&schema, &names))?;
    write("commands.rs", rust::commands(&schema, &names))?;
    write("events.rs", rust::events(&schema, &names))?;
    let info = introspect::schema_info(&schema);
    write(
        "qmp-schema.json",
        serde_json::to_string(&info).map_err(|e| e.to_string())?,
    )?;
    Ok(())
}

fn main() {
    if let Err(e) = generate() {
        eprintln!("qapi schema: {e}");
        process::exit(1);
    }
}
