# Neurite's U-Boot boot script: picks root slot A or B with a boot-attempt
# counter, the scheme RAUC's U-Boot backend expects. BOOT_ORDER lists the
# slots by preference; each try of a slot takes one from BOOT_x_LEFT before
# booting it. Once Neurite has been healthy for its window it runs
# `rauc status mark-good`, which fills the counter again. A slot whose
# counter is empty is skipped, so a system that fails three boots in a row
# falls back to the other slot. When both are spent, both get three new
# tries (a power problem should not brick the device).

test -n "${BOOT_ORDER}" || setenv BOOT_ORDER "A B"
test -n "${BOOT_A_LEFT}" || setenv BOOT_A_LEFT 3
test -n "${BOOT_B_LEFT}" || setenv BOOT_B_LEFT 3

setenv rauc_part
for slot in ${BOOT_ORDER}; do
	if test -z "${rauc_part}" && test "${slot}" = "A" && test ${BOOT_A_LEFT} -gt 0; then
		setexpr BOOT_A_LEFT ${BOOT_A_LEFT} - 1
		setenv rauc_part 2
		setenv rauc_slot A
	fi
	if test -z "${rauc_part}" && test "${slot}" = "B" && test ${BOOT_B_LEFT} -gt 0; then
		setexpr BOOT_B_LEFT ${BOOT_B_LEFT} - 1
		setenv rauc_part 3
		setenv rauc_slot B
	fi
done

if test -z "${rauc_part}"; then
	echo "Neurite: no root slot has boot attempts left; giving both three more"
	setenv BOOT_A_LEFT 3
	setenv BOOT_B_LEFT 3
	saveenv
	reset
fi
saveenv

echo "Neurite: booting root slot ${rauc_slot} (mmc 0:${rauc_part})"
# The firmware's device tree (config.txt's overlays applied) is at fdt_addr;
# its /chosen/bootargs hold cmdline.txt with the board's serial console
# resolved, to which the root slot is added.
fdt addr ${fdt_addr}
fdt get value fw_bootargs /chosen bootargs
if load mmc 0:${rauc_part} ${kernel_addr_r} /boot/Image; then
	setenv bootargs "${fw_bootargs} root=/dev/mmcblk0p${rauc_part} rootfstype=ext4 ro rauc.slot=${rauc_slot}"
	booti ${kernel_addr_r} - ${fdt_addr}
fi
# Not bootable (an empty slot B, a damaged file system): the counter is spent, try again.
echo "Neurite: root slot ${rauc_slot} did not boot"
reset
