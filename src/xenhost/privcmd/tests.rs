use super::*;

#[test]
fn the_ioctl_number_is_ioc_none_p_0_with_the_48_byte_struct() {
    assert_eq!(IOCTL_PRIVCMD_HYPERCALL, 0x0030_5000);
    assert_eq!(std::mem::size_of::<PrivcmdHypercall>(), 48);
}

#[test]
fn a_domctl_passes_its_buffer_as_the_only_argument() {
    assert_eq!(hypercall_args(None, Some(0x7000)), [0x7000, 0, 0, 0, 0]);
}

#[test]
fn a_command_hypercall_passes_the_command_then_the_buffer() {
    assert_eq!(hypercall_args(Some(6), Some(0x7000)), [6, 0x7000, 0, 0, 0]);
    assert_eq!(hypercall_args(Some(0), None), [0; 5]);
}
