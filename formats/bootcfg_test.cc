// SPDX-License-Identifier: GPL-3.0-or-later
#include "formats/bootcfg.h"

#include <gtest/gtest.h>

namespace imager::formats::bootcfg {
namespace {

std::string Apply(std::string_view text, Syntax s, const CmdlineEdit& e) {
  auto r = Edit(text, s, e, "test.cfg");
  EXPECT_TRUE(r.ok()) << r.error();
  return r ? r->text : "";
}

TEST(BootcfgTest, SyslinuxAppendEveryKernelEntry) {
  const char* in =
      "UI menu.c32\n"
      "LABEL live\n  LINUX /live/vmlinuz\n  INITRD /live/initrd\n  APPEND boot=live quiet\n"
      "LABEL toram\n  linux /live/vmlinuz\n  append boot=live toram quiet\n"
      "LABEL hdt\n  COM32 hdt.c32\n"
      "label menu\n  kernel vesamenu.c32\n  append isolinux.cfg\n";
  auto r = Edit(in, Syntax::kSyslinux, {.remove = {"quiet"}, .add = {"console=ttyS0"}}, "x");
  ASSERT_TRUE(r.ok()) << r.error();
  EXPECT_EQ(r->kernel_lines, 2);
  EXPECT_EQ(r->text,
            "UI menu.c32\n"
            "LABEL live\n  LINUX /live/vmlinuz\n  INITRD /live/initrd\n"
            "  APPEND boot=live console=ttyS0\n"
            "LABEL toram\n  linux /live/vmlinuz\n  append boot=live toram console=ttyS0\n"
            "LABEL hdt\n  COM32 hdt.c32\n"
            "label menu\n  kernel vesamenu.c32\n  append isolinux.cfg\n");
}

TEST(BootcfgTest, SyslinuxEntryWithoutAppendGetsOne) {
  EXPECT_EQ(Apply("label a\n  kernel vmlinuz", Syntax::kSyslinux, {.add = {"x=1"}}),
            "label a\n  kernel vmlinuz\n  append x=1");
  EXPECT_EQ(Apply("LABEL a\r\n  KERNEL vmlinuz\r\n", Syntax::kSyslinux, {.add = {"x"}}),
            "LABEL a\r\n  KERNEL vmlinuz\r\n  APPEND x\r\n");
}

TEST(BootcfgTest, SyslinuxGlobalAppendServesEntriesWithoutTheirOwn) {
  EXPECT_EQ(Apply("append quiet\nlabel a\n kernel vmlinuz\nlabel b\n kernel vmlinuz\n",
                  Syntax::kSyslinux, {.add = {"x"}}),
            "append quiet x\nlabel a\n kernel vmlinuz\nlabel b\n kernel vmlinuz\n");
}

TEST(BootcfgTest, RemoveByKeyOrExactValue) {
  EXPECT_EQ(Apply("label a\n kernel k\n append console=tty0 console=ttyS0 inst.ks=old quiet\n",
                  Syntax::kSyslinux, {.remove = {"console=ttyS0", "inst.ks"}}),
            "label a\n kernel k\n append console=tty0 quiet\n");
}

TEST(BootcfgTest, AddedArgumentNotRepeated) {
  EXPECT_EQ(Apply("linux /k a b\n", Syntax::kGrub, {.add = {"b", "c"}}), "linux /k a b c\n");
}

TEST(BootcfgTest, UnchangedLinesKeptByteForByte) {
  const char* in = "label a\n kernel k\n append  a   b\nlinux  /k   x\n";
  EXPECT_EQ(Apply(in, Syntax::kSyslinux, {.add = {"a"}}), in);
  EXPECT_EQ(Apply("  linux  /k   x\n", Syntax::kGrub, {.old_label = "A", .new_label = "A"}),
            "  linux  /k   x\n");
}

TEST(BootcfgTest, GrubLinuxAndLinuxefiLines) {
  const char* in =
      "set timeout=5\n"
      "menuentry 'Install' --class fedora {\n"
      "\tlinuxefi /images/pxeboot/vmlinuz inst.stage2=hd:LABEL=F38 quiet\n"
      "\tinitrdefi /images/pxeboot/initrd.img\n"
      "}\n"
      "menuentry \"Live\" {\n  linux /live/vmlinuz boot=live\n}\n";
  auto r = Edit(in, Syntax::kGrub, {.remove = {"quiet"}, .add = {"inst.ks=hd:LABEL=F38:/ks.cfg"}},
                "grub.cfg");
  ASSERT_TRUE(r.ok()) << r.error();
  EXPECT_EQ(r->kernel_lines, 2);
  EXPECT_EQ(
      r->text,
      "set timeout=5\n"
      "menuentry 'Install' --class fedora {\n"
      "\tlinuxefi /images/pxeboot/vmlinuz inst.stage2=hd:LABEL=F38 "
      "inst.ks=hd:LABEL=F38:/ks.cfg\n"
      "\tinitrdefi /images/pxeboot/initrd.img\n"
      "}\n"
      "menuentry \"Live\" {\n  linux /live/vmlinuz boot=live inst.ks=hd:LABEL=F38:/ks.cfg\n}\n");
}

TEST(BootcfgTest, BlanksBeforeTheArgumentsKept) {
  EXPECT_EQ(Apply("\tlinux\t/k a\n", Syntax::kGrub, {.add = {"b"}}), "\tlinux\t/k a b\n");
  EXPECT_EQ(Apply("label a\n kernel k\n append\ta\n", Syntax::kSyslinux, {.add = {"b"}}),
            "label a\n kernel k\n append\ta b\n");
}

TEST(BootcfgTest, QuotedWordsStayWhole) {
  EXPECT_EQ(Apply("linux /k 'a b' x=\"c d\" quiet\n", Syntax::kGrub, {.remove = {"quiet", "x"}}),
            "linux /k 'a b'\n");
  EXPECT_EQ(Apply("linux /k a\\ b quiet\n", Syntax::kGrub, {.remove = {"a b"}}),
            "linux /k quiet\n");
  EXPECT_EQ(
      Apply("label a\n kernel k\n append x=\"c d\" q\n", Syntax::kSyslinux, {.remove = {"q"}}),
      "label a\n kernel k\n append x=\"c d\"\n");
}

TEST(BootcfgTest, UnbalancedQuoteNamesFileAndLine) {
  auto r = Edit("menuentry a {\n  linux /k 'a b\n}\n", Syntax::kGrub, {.add = {"x"}}, "g.cfg");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error(), "g.cfg:2: unbalanced ' in the kernel command line");
  auto c = Edit("linux /k a \\\n  b\n", Syntax::kGrub, {.add = {"x"}}, "g.cfg");
  ASSERT_FALSE(c.ok());
  EXPECT_NE(c.error().find("g.cfg:1: "), std::string::npos);
}

TEST(BootcfgTest, LabelsFollowTheNewVolumeId) {
  CmdlineEdit e{.old_label = "Fedora S 38", .new_label = "MY DISC"};
  EXPECT_EQ(Apply("label a\n kernel k\n append inst.stage2=hd:LABEL=Fedora\\x20S\\x2038 quiet\n",
                  Syntax::kSyslinux, e),
            "label a\n kernel k\n append inst.stage2=hd:LABEL=MY\\x20DISC quiet\n");
  EXPECT_EQ(Apply("search --no-floppy --set=root -l 'Fedora S 38'\n"
                  "linux /k root=live:CDLABEL=Fedora\\x20S\\x2038\n",
                  Syntax::kGrub, e),
            "search --no-floppy --set=root -l 'MY DISC'\n"
            "linux /k root=live:CDLABEL=MY\\x20DISC\n");
  // A label that only starts like the old one is someone else's.
  EXPECT_EQ(Apply("linux /k a=hd:LABEL=OLDER:/x\n", Syntax::kGrub,
                  {.old_label = "OLD", .new_label = "NEW"}),
            "linux /k a=hd:LABEL=OLDER:/x\n");
}

TEST(BootcfgTest, SplitUserArgs) {
  auto r = SplitUserArgs(" a  b=\"c d\" e ");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(*r, (std::vector<std::string>{"a", "b=\"c d\"", "e"}));
  EXPECT_FALSE(SplitUserArgs("a=\"b").ok());
}

}  // namespace
}  // namespace imager::formats::bootcfg
