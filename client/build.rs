//! Rebuilds the client when the runtime metadata its chain types are generated from changes:
//! the `subxt` macro reads `artifacts/kms-metadata.scale` without telling cargo.

fn main() {
	println!("cargo:rerun-if-changed=artifacts/kms-metadata.scale");
}
