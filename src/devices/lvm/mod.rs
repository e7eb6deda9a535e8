//! Native LVM2: reading PV labels and metadata, and turning volume groups into
//! device-mapper tables, without lvm2 or libdevmapper. `label` reads a PV, `metadata`
//! parses the VG text, `table` plans the activation; `devices::dm` carries it out.

pub(crate) mod label;
pub(crate) mod metadata;
pub(crate) mod table;

use std::collections::HashMap;

use label::PhysicalVolume;
use metadata::{MetadataError, VolumeGroup};

/// The volume groups described by a set of PVs: for each VG (by id), the metadata copy
/// with the highest seqno among all PVs. Copies whose text does not parse as a VG are
/// returned as errors, with the PV uuid, and otherwise ignored.
pub(crate) fn volume_groups<'a>(
    pvs: impl IntoIterator<Item = &'a PhysicalVolume>,
) -> (Vec<VolumeGroup>, Vec<(String, MetadataError)>) {
    let mut newest: HashMap<String, VolumeGroup> = HashMap::new();
    let mut order: Vec<String> = Vec::new();
    let mut errors = Vec::new();
    for pv in pvs {
        for copy in &pv.metadata {
            match copy.text.parse::<VolumeGroup>() {
                Ok(vg) => {
                    let id = vg.id.clone();
                    match newest.get(&id) {
                        Some(old) if old.seqno >= vg.seqno => {}
                        Some(_) => {
                            newest.insert(id, vg);
                        }
                        None => {
                            order.push(id.clone());
                            newest.insert(id, vg);
                        }
                    }
                }
                Err(e) => errors.push((pv.uuid.clone(), e)),
            }
        }
    }
    let vgs = order.iter().filter_map(|id| newest.remove(id)).collect();
    (vgs, errors)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests;
