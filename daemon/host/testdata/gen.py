#!/usr/bin/env python3
"""Generates the fixture host trees of daemon/host/testdata.

Run from daemon/host/testdata: python3 gen.py .
File names never contain ':' (Go module zips refuse it), so PCI directories
are spelled 0000_00_03.0; the PCI address itself is read from file contents
(device/uevent PCI_SLOT_NAME), as on real hosts.
"""
import os, shutil, sys

OUT = sys.argv[1]

def w(root, path, content):
    p = os.path.join(root, path)
    os.makedirs(os.path.dirname(p), exist_ok=True)
    with open(p, 'w') as f:
        f.write(content)

def cpulist(cpus):
    cpus = sorted(set(cpus)); out = []; i = 0
    while i < len(cpus):
        j = i
        while j + 1 < len(cpus) and cpus[j+1] == cpus[j] + 1: j += 1
        out.append(str(cpus[i]) if i == j else f"{cpus[i]}-{cpus[j]}"); i = j + 1
    return ",".join(out)

def parse(lst):
    s = set()
    for e in lst.split(","):
        if "-" in e:
            a, b = e.split("-"); s |= set(range(int(a), int(b)+1))
        elif e: s.add(int(e))
    return s

def mask(cpus, ncpu):
    v = 0
    for c in cpus: v |= 1 << c
    groups = (ncpu + 31) // 32; parts = []
    for g in range(groups - 1, -1, -1):
        gv = (v >> (32*g)) & 0xffffffff
        if g == groups - 1:
            parts.append("%0*x" % (((ncpu-1) % 32)//4 + 1, gv))
        else:
            parts.append("%08x" % gv)
    return ",".join(parts)

class Host:
    def __init__(self, root, ncpu):
        self.root, self.ncpu, self.irqs, self.special = root, ncpu, [], []
        shutil.rmtree(root, ignore_errors=True)
    def irq(self, n, chip, hw, name, aff, eff=None, counts=None):
        self.irqs.append((n, chip, hw, name, aff, eff if eff is not None else aff, counts))
    def write_interrupts(self):
        nc = self.ncpu
        lines = [" " * 11 + "".join("CPU%-8d" % c for c in range(nc)).rstrip()]
        for (n, chip, hw, name, aff, eff, counts) in sorted(self.irqs):
            effs = sorted(parse(eff))
            cnt = counts or [(1000 * (n % 7 + 1) if c == effs[0] else 0) for c in range(nc)]
            lines.append("%4d: " % n + "".join("%10d " % x for x in cnt) + "%-8s %s  %s" % (chip, hw, name))
        for tag, desc in [("NMI", "Non-maskable interrupts"), ("LOC", "Local timer interrupts"),
                          ("SPU", "Spurious interrupts"), ("RES", "Rescheduling interrupts"),
                          ("CAL", "Function call interrupts"), ("TLB", "TLB shootdowns")]:
            lines.append("%4s: " % tag + "".join("%10d " % (100 + 37 * c) for c in range(nc)) + "  " + desc)
        lines.append("%4s: %10d" % ("ERR", 0)); lines.append("%4s: %10d" % ("MIS", 0))
        w(self.root, "proc/interrupts", "\n".join(lines) + "\n")
        for (n, chip, hw, name, aff, eff, counts) in self.irqs:
            d = f"proc/irq/{n}/"
            w(self.root, d + "smp_affinity", mask(parse(aff), self.ncpu) + "\n")
            w(self.root, d + "smp_affinity_list", aff + "\n")
            w(self.root, d + "effective_affinity", mask(parse(eff), self.ncpu) + "\n")
            w(self.root, d + "effective_affinity_list", eff + "\n")
            w(self.root, d + "node", "0\n")
            w(self.root, d + "spurious", "count 0\nunhandled 0\nlast_unhandled 0 ms\n")
    def cpu(self, online, nohz_full, isolated, governor=None, governors=None, polling=""):
        # polling: the CPUs whose PM QoS resume latency is n/a (polling
        # idle only, as rtbd.tuning.power sets); the others have 0 (no
        # limit), the kernel's default. No host has SMT: each CPU is its
        # own core (thread_siblings_list), as with SMT off for latency.
        for c in range(self.ncpu):
            lat = "n/a" if c in parse(polling) else "0"
            w(self.root, f"sys/devices/system/cpu/cpu{c}/power/pm_qos_resume_latency_us", lat + "\n")
            w(self.root, f"sys/devices/system/cpu/cpu{c}/topology/thread_siblings_list", f"{c}\n")
        w(self.root, "sys/devices/system/cpu/online", online + "\n")
        w(self.root, "sys/devices/system/cpu/possible", online + "\n")
        w(self.root, "sys/devices/system/cpu/present", online + "\n")
        if nohz_full is not None:
            w(self.root, "sys/devices/system/cpu/nohz_full", nohz_full + "\n")
        w(self.root, "sys/devices/system/cpu/isolated", isolated + "\n")
        for c in range(self.ncpu):
            g = (governors or {}).get(c, governor)
            if g:
                w(self.root, f"sys/devices/system/cpu/cpu{c}/cpufreq/scaling_governor", g + "\n")
                w(self.root, f"sys/devices/system/cpu/cpu{c}/cpufreq/scaling_driver", "acpi-cpufreq\n")
            else:
                os.makedirs(os.path.join(self.root, f"sys/devices/system/cpu/cpu{c}/topology"), exist_ok=True)
                w(self.root, f"sys/devices/system/cpu/cpu{c}/topology/core_id", f"{c}\n")
    def mm(self, thp, hp2m, hp2m_free, hp1g, hp1g_free):
        w(self.root, "sys/kernel/mm/transparent_hugepage/enabled", thp + "\n")
        w(self.root, "sys/kernel/mm/transparent_hugepage/defrag", "always defer defer+madvise [madvise] never\n")
        for size, nr, free in [("2048kB", hp2m, hp2m_free), ("1048576kB", hp1g, hp1g_free)]:
            d = f"sys/kernel/mm/hugepages/hugepages-{size}/"
            w(self.root, d + "nr_hugepages", f"{nr}\n")
            w(self.root, d + "free_hugepages", f"{free}\n")
            w(self.root, d + "resv_hugepages", "0\n")
            w(self.root, d + "surplus_hugepages", "0\n")
    def misc(self, cmdline, clocksource, swaps, procs):
        w(self.root, "proc/cmdline", cmdline + "\n")
        w(self.root, "sys/devices/system/clocksource/clocksource0/current_clocksource", clocksource + "\n")
        w(self.root, "sys/devices/system/clocksource/clocksource0/available_clocksource", "tsc hpet acpi_pm \n")
        hdr = "Filename\t\t\t\tType\t\tSize\t\tUsed\t\tPriority\n"
        w(self.root, "proc/swaps", hdr + "".join(s + "\n" for s in swaps))
        w(self.root, "proc/irq/default_smp_affinity", "ffff\n" if self.ncpu == 16 else mask(range(self.ncpu), self.ncpu) + "\n")
        for pid, comm, env in procs:
            w(self.root, f"proc/{pid}/comm", comm + "\n")
            w(self.root, f"proc/{pid}/environ", "".join(e + "\0" for e in env))
    def nic(self, ifname, pci, msi, rxq, txq, rps="0", xps="0", virtio=None, driver="ixgbe"):
        d = f"sys/class/net/{ifname}/"
        w(self.root, d + "operstate", "up\n")
        w(self.root, d + "ifindex", "2\n")
        if virtio:
            # /sys/class/net/IF/device -> the virtio device; the PCI function
            # with the MSI-X vectors is its parent.
            parent = f"sys/devices/pci0000_00/{pci}/"
            w(self.root, parent + virtio + "/uevent", "DRIVER=virtio_net\nMODALIAS=virtio:d00000001v00001AF4\n")
            for n in msi: w(self.root, parent + f"msi_irqs/{n}", "msix\n")
            os.symlink(f"../../../devices/pci0000_00/{pci}/{virtio}", os.path.join(self.root, d + "device"))
        else:
            w(self.root, d + "device/uevent", f"DRIVER={driver}\nPCI_CLASS=20000\nPCI_SLOT_NAME={pci}\n")
            for n in msi: w(self.root, d + f"device/msi_irqs/{n}", "msix\n")
        for q in range(rxq):
            w(self.root, d + f"queues/rx-{q}/rps_cpus", rps + "\n")
            w(self.root, d + f"queues/rx-{q}/rps_flow_cnt", "0\n")
        for q in range(txq):
            w(self.root, d + f"queues/tx-{q}/xps_cpus", xps + "\n")
            w(self.root, d + f"queues/tx-{q}/tx_maxrate", "0\n")

def x86_base(h, hk):
    h.irq(0, "IR-IO-APIC", "2-edge", "timer", hk, hk.split("-")[0].split(",")[0])
    h.irq(8, "IR-IO-APIC", "8-edge", "rtc0", hk, hk.split("-")[0].split(",")[0])
    h.irq(9, "IR-IO-APIC", "9-fasteoi", "acpi", hk, hk.split("-")[0].split(",")[0])

NIXOS = "BOOT_IMAGE=(hd0,gpt1)//kernels/abc-linux-6.12.41-bzImage init=/nix/store/abc-nixos-system-bid1-26.05/init"

def mlx5(root, drifted):
    h = Host(root, 16)
    pci = "0000:3b:00.0"
    if not drifted:
        x86_base(h, "0-1")
        h.irq(24, "DMAR-MSI", "0-edge", "dmar0", "0-1", "0")
        h.irq(40, "IR-PCI-MSI", "65536-edge", "nvme0q0", "0-1", "0")
        h.irq(41, "IR-PCI-MSI", "65537-edge", "nvme0q1", "0-15", "1")
        h.irq(98, "IR-PCI-MSIX-0000:3b:00.0", "0-edge", f"mlx5_async0@pci:{pci}", "0-1", "0")
        for i in range(8):
            h.irq(99 + i, "IR-PCI-MSIX-0000:3b:00.0", f"{i+1}-edge", f"mlx5_comp{i}@pci:{pci}", "0-1", "0")
        h.cpu("0-15", "2-15", "", governor="performance", polling="2-15")
        h.mm("always madvise [never]", 1024, 1024, 4, 4)
        h.misc(NIXOS + " loglevel=4 nohz_full=2-15 rcu_nocbs=2-15 irqaffinity=0-1 isolcpus=managed_irq,2-15 skew_tick=1 "
               "tsc=reliable transparent_hugepage=never default_hugepagesz=2M hugepagesz=1G hugepages=4 nosoftlockup",
               "tsc", [], [(1, "systemd", []), (1402, "irqbalance", ["PATH=/run/current-system/sw/bin", "LANG=C.UTF-8"]),
                           (2210, "rtbd", ["GOMAXPROCS=14"])])
    else:
        x86_base(h, "0-15")
        h.irq(24, "DMAR-MSI", "0-edge", "dmar0", "0-15", "0")
        h.irq(40, "IR-PCI-MSI", "65536-edge", "nvme0q0", "0-15", "3")
        h.irq(41, "IR-PCI-MSI", "65537-edge", "nvme0q1", "0-7", "0")
        h.irq(42, "IR-PCI-MSI", "65538-edge", "nvme0q2", "8-15", "9")
        h.irq(98, "IR-PCI-MSIX-0000:3b:00.0", "0-edge", f"mlx5_async0@pci:{pci}", "0-15", "0")
        for i in range(8):
            h.irq(99 + i, "IR-PCI-MSIX-0000:3b:00.0", f"{i+1}-edge", f"mlx5_comp{i}@pci:{pci}", str(i), str(i))
        h.cpu("0-15", "2-7", "", governor="performance", governors={5: "powersave", 6: "powersave"}, polling="2-7")
        h.mm("always [madvise] never", 0, 0, 4, 4)
        h.misc(NIXOS + " loglevel=4 nohz_full=2-7 isolcpus=managed_irq,domain,2-15 transparent_hugepage=madvise",
               "hpet", ["/dev/nvme0n1p3                          partition\t8388604\t\t0\t\t-2"],
               [(1, "systemd", []), (1402, "irqbalance", ["PATH=/run/current-system/sw/bin"])])
    h.write_interrupts()
    h.nic("ens1f0np0", pci, [98] + list(range(99, 107)), 8, 8, rps="0000", xps="0000", driver="mlx5_core")

def ixgbe(root):
    h = Host(root, 8)
    x86_base(h, "0-7")
    h.irq(27, "IR-PCI-MSI", "512000-edge", "ahci[0000:00:1f.2]", "0-7", "4")
    for i in range(8):
        h.irq(33 + i, "IR-PCI-MSI", f"{1048576+i}-edge", f"eth0-TxRx-{i}", "0-7", str(i))
    h.irq(41, "IR-PCI-MSI", "1048584-edge", "eth0", "0-7", "0")
    for i in range(4):
        h.irq(43 + i, "IR-PCI-MSI", f"{1050624+i}-edge", f"eth1-TxRx-{i}", "0-7", str(i))
    h.irq(47, "IR-PCI-MSI", "1050628-edge", "eth1", "0-7", "0")
    h.write_interrupts()
    h.cpu("0-7", "2-7", "", governor="performance")
    h.mm("always madvise [never]", 0, 0, 0, 0)
    h.misc(NIXOS + " nohz_full=2-7 rcu_nocbs=2-7", "tsc", [], [(1, "systemd", [])])
    h.nic("eth0", "0000:03:00.0", list(range(33, 42)), 8, 8, rps="00", xps="00")
    h.nic("eth1", "0000:03:00.1", list(range(43, 48)), 4, 4, rps="00", xps="00")

def ena(root):
    h = Host(root, 4)
    h.irq(4, "IO-APIC", "4-edge", "ttyS0", "0-3", "1")
    h.irq(24, "PCI-MSI", "81920-edge", "ena-mgmnt@pci:0000:00:05.0", "0-3", "0")
    for i in range(4):
        h.irq(25 + i, "PCI-MSI", f"{81921+i}-edge", f"ens5-Tx-Rx-{i}", "0-3", str(i))
    h.irq(29, "PCI-MSI", "65536-edge", "nvme0q0", "0-3", "0")
    h.irq(30, "PCI-MSI", "65537-edge", "nvme0q1", "0-1", "0")
    h.irq(31, "PCI-MSI", "65538-edge", "nvme0q2", "2-3", "2")
    h.write_interrupts()
    h.cpu("0-3", "(null)", "")
    h.mm("always [madvise] never", 0, 0, 0, 0)
    h.misc("BOOT_IMAGE=/boot/vmlinuz-6.1.0-28-cloud-amd64 root=PARTUUID=1 ro console=tty0 console=ttyS0,115200 nvme_core.io_timeout=4294967295",
           "kvm-clock", [], [(1, "systemd", [])])
    h.nic("ens5", "0000:00:05.0", list(range(24, 29)), 4, 4, rps="0", xps="0", driver="ena")

def virtio(root):
    h = Host(root, 4)
    h.irq(4, "IO-APIC", "4-edge", "ttyS0", "0-3", "0")
    h.irq(24, "PCI-MSIX-0000:00:02.0", "0-edge", "virtio0-config", "0-3", "0")
    h.irq(25, "PCI-MSIX-0000:00:02.0", "1-edge", "virtio0-req.0", "0-3", "2")
    h.irq(26, "PCI-MSIX-0000:00:03.0", "0-edge", "virtio1-config", "0-3", "0")
    h.irq(27, "PCI-MSIX-0000:00:03.0", "1-edge", "virtio1-input.0", "0", "0")
    h.irq(28, "PCI-MSIX-0000:00:03.0", "2-edge", "virtio1-output.0", "0", "0")
    h.irq(29, "PCI-MSIX-0000:00:03.0", "3-edge", "virtio1-input.1", "1", "1")
    h.irq(30, "PCI-MSIX-0000:00:03.0", "4-edge", "virtio1-output.1", "1", "1")
    h.irq(31, "PCI-MSIX-0000:00:04.0", "0-edge", "virtio10-config", "0-3", "0")
    h.irq(32, "PCI-MSIX-0000:00:04.0", "1-edge", "virtio10-input.0", "2", "2")
    h.write_interrupts()
    h.cpu("0-3", "2-3", "")
    h.mm("always [madvise] never", 0, 0, 0, 0)
    h.misc(NIXOS + " console=ttyS0 nohz_full=2-3 rcu_nocbs=2-3 irqaffinity=0-1", "kvm-clock", [], [(1, "systemd", [])])
    h.nic("eth0", "0000_00_03.0", [26, 27, 28, 29, 30], 2, 2, rps="0", xps="0", virtio="virtio1")

mlx5(os.path.join(OUT, "mlx5"), False)
mlx5(os.path.join(OUT, "mlx5-drifted"), True)
ixgbe(os.path.join(OUT, "ixgbe"))
ena(os.path.join(OUT, "ena"))
virtio(os.path.join(OUT, "virtio"))
