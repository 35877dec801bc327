# Builds msim and installs it the way a C library and a Pidgin plugin are installed, in cargo-c's
# layout (README "Install"):
#
#   make                                        # release build, stripped copies in target/dist
#   sudo make install                           # PREFIX=/usr/local
#   make install PREFIX=/usr DESTDIR=/tmp/stage # staging, as a package build does
#   sudo make uninstall                         # removes exactly what install put there
#                                               # (give it the same PREFIX/DESTDIR/... variables)
#
# `make install` builds nothing: it copies target/dist, which `make` (run as yourself) fills. So
# `sudo make install` needs no cargo in root's PATH and leaves no root-owned files in target/.
#
# What goes where (defaults on Debian x86_64 with PREFIX=/usr/local; every name is a variable):
#   LIBDIR/libmsim.so.0.1.0      the library (libmsim.so.<crate version>), SONAME libmsim.so.0 (build.rs)
#   LIBDIR/libmsim.so.0          -> libmsim.so.0.1.0, the name programs record and load
#   LIBDIR/libmsim.so            -> libmsim.so.0.1.0, the development link `-lmsim` finds
#   LIBDIR/libmsim.a             the static library
#   PKGCONFIGDIR/msim.pc         with the real prefix (scripts/msim-pc.sh --prefix)
#   INCLUDEDIR/msim/msim.h       Cflags -I${includedir}/msim
#   BINDIR/msim-server
#   PURPLE_PLUGIN_DIR/libmsim-purple.so                       the libpurple plugin (prpl-msim)
#   PIDGIN_DATADIR/pixmaps/pidgin/protocols/{16,22,48}/myspace.png   its icons
#   .debug/<file>.debug beside each of the ELF files above   their debug info (below)
#
# LIBDIR is PREFIX/lib/<multiarch> on Debian and PREFIX/lib elsewhere, as cargo-c chooses it.
# libpurple and Pidgin look for plugins and icons only in their own directories, so without a
# PREFIX on the command line the plugin goes to `pkg-config --variable=plugindir purple` and the
# icons under Pidgin's data dir (/usr/share on Debian); with one, both go under that PREFIX
# (the plugin dir as purple.pc computes it for that prefix).
#
# Why not cargo-c (`cargo cinstall`): it installs the library, header and .pc only, so the server,
# the plugin and the icons would need this Makefile anyway; it would be one more tool to build
# (cargo itself as a library, minutes on CI's two cores) for every developer, CI run and package
# build; and its default SONAME for a 0.x crate is libmsim.so.0.1, not libmsim.so.0. The layout
# and the .pc here are cargo-c's.
#
# Debug info: release builds keep line tables (Cargo.toml, [profile.release] debug = 1), 7.5 MB of
# the library's 8.4 MB. `make` splits it off each ELF file into target/dist/<file>.debug (objcopy
# --only-keep-debug), strips the file and links the two (--add-gnu-debuglink); `install` puts the
# .debug files in a `.debug/` directory beside the files, where gdb looks for a debuglink.
# The static library only loses its debug sections (objcopy --strip-debug), as Debian's dh_strip
# does. SPLIT_DEBUG=0 installs the unstripped files instead (debian/rules: dh_strip then makes the
# -dbgsym packages).
#
# Needs cargo, cc, pkg-config, binutils (objcopy, readelf); the plugin needs libpurple-dev and
# libglib2.0-dev, and is left out with a note when they are missing (WITH_PURPLE=1 makes that an
# error, WITH_PURPLE=0 leaves it out quietly).

PREFIX ?= /usr/local
# Given on the command line or in the environment rather than this default (see above).
PREFIX_GIVEN := $(filter command line environment,$(origin PREFIX))
MULTIARCH := $(shell dpkg-architecture -qDEB_HOST_MULTIARCH 2>/dev/null)
LIBDIR ?= $(PREFIX)/lib$(if $(MULTIARCH),/$(MULTIARCH))
INCLUDEDIR ?= $(PREFIX)/include
BINDIR ?= $(PREFIX)/bin
PKGCONFIGDIR ?= $(LIBDIR)/pkgconfig
WITH_PURPLE ?= $(if $(shell pkg-config --exists purple glib-2.0 2>/dev/null && echo yes),1,auto-missing)
PURPLE_PLUGIN_DIR ?= $(shell pkg-config $(if $(PREFIX_GIVEN),--define-variable=prefix=$(PREFIX)) --variable=plugindir purple 2>/dev/null)
PIDGIN_DATADIR ?= $(if $(PREFIX_GIVEN),$(PREFIX)/share,$(or $(shell pkg-config --variable=datadir pidgin 2>/dev/null),/usr/share))
SPLIT_DEBUG ?= 1
DESTDIR ?=

CARGO ?= cargo
CARGO_FLAGS ?= --locked
TARGET_DIR ?= $(or $(CARGO_TARGET_DIR),target)
RELEASE = $(TARGET_DIR)/release
DIST = $(TARGET_DIR)/dist
OBJCOPY ?= objcopy
INSTALL ?= install

VERSION := $(shell sed -n 's/^version = "\(.*\)"/\1/p' Cargo.toml | head -n 1)
REALNAME = libmsim.so.$(VERSION)
# The SONAME build.rs gave the library (libmsim.so.0): the one definition of the ABI version.
# uninstall asks the installed library, so it works without the build tree.
SONAME_OF = $(shell readelf -d $(1) 2>/dev/null | sed -n 's/.*Library soname: \[\(.*\)\]/\1/p')
SONAME = $(call SONAME_OF,$(RELEASE)/libmsim.so)
DIST_SONAME = $(call SONAME_OF,$(DIST)/$(REALNAME))
INSTALLED_SONAME = $(or $(call SONAME_OF,$(DESTDIR)$(LIBDIR)/$(REALNAME)),$(DIST_SONAME),$(SONAME))
ICON_SIZES = 16 22 48
ICON_DIR = $(PIDGIN_DATADIR)/pixmaps/pidgin/protocols
PURPLE = $(filter 1,$(WITH_PURPLE))

# What install copies out of target/dist.
DIST_ELF = $(REALNAME) msim-server $(if $(PURPLE),libmsim-purple.so)
DIST_FILES = $(addprefix $(DIST)/,$(DIST_ELF) libmsim.a $(if $(filter 1,$(SPLIT_DEBUG)),$(addsuffix .debug,$(DIST_ELF))))

# The installed files, each with the directory it goes to; uninstall removes this list.
ELF_FILES = $(LIBDIR)/$(REALNAME) $(BINDIR)/msim-server $(if $(PURPLE),$(PURPLE_PLUGIN_DIR)/libmsim-purple.so)
DEBUG_FILES = $(if $(filter 1,$(SPLIT_DEBUG)),$(foreach f,$(ELF_FILES),$(dir $(f)).debug/$(notdir $(f)).debug))
INSTALLED = $(ELF_FILES) $(DEBUG_FILES) $(LIBDIR)/$(INSTALLED_SONAME) $(LIBDIR)/libmsim.so $(LIBDIR)/libmsim.a \
	$(PKGCONFIGDIR)/msim.pc $(INCLUDEDIR)/msim/msim.h \
	$(if $(PURPLE),$(foreach s,$(ICON_SIZES),$(ICON_DIR)/$(s)/myspace.png))

all: dist

build:
	CARGO_TARGET_DIR=$(TARGET_DIR) $(CARGO) build --release $(CARGO_FLAGS) -p msim -p msim-server
ifeq ($(WITH_PURPLE),auto-missing)
	@echo "************************************************************************" >&2
	@echo "note: libpurple-dev / libglib2.0-dev not found: the Pidgin plugin is not built or installed" >&2
	@echo "      (apt-get install -y libpurple-dev libglib2.0-dev; WITH_PURPLE=1 makes this an error)" >&2
	@echo "************************************************************************" >&2
endif
ifneq ($(PURPLE),)
	@# The installed plugin finds libmsim.so.0 in the system's library path, not beside itself.
	$(MAKE) -C examples-c/purple MSIM_LIB_DIR=$(abspath $(RELEASE)) BUILD_DIR=$(abspath $(RELEASE)) PLUGIN_RPATH=
endif

# target/dist: the files as they are installed. Rebuilt on every `make`: objcopy is quick, and cargo
# alone knows whether its outputs changed.
dist: build
	@test -n "$(SONAME)" || { echo "$(RELEASE)/libmsim.so has no SONAME: run make (build.rs sets it)" >&2; exit 1; }
	rm -rf $(DIST) && mkdir -p $(DIST)
	cp $(RELEASE)/libmsim.so $(DIST)/$(REALNAME)
	cp $(RELEASE)/msim-server $(RELEASE)/libmsim.a $(DIST)/
	$(if $(PURPLE),cp $(RELEASE)/libmsim-purple.so $(DIST)/)
ifeq ($(SPLIT_DEBUG),1)
	set -e; cd $(DIST) && for f in $(DIST_ELF); do \
		$(OBJCOPY) --only-keep-debug $$f $$f.debug; \
		$(OBJCOPY) --strip-debug --strip-unneeded --remove-section=.comment $$f; \
		$(OBJCOPY) --add-gnu-debuglink=$$f.debug $$f; \
		chmod 0644 $$f.debug; \
	done
	$(OBJCOPY) --strip-debug --enable-deterministic-archives $(DIST)/libmsim.a
endif

install:
	@for f in $(DIST_FILES); do test -e $$f || { echo "no $$f: run make first, as yourself (with the same WITH_PURPLE and SPLIT_DEBUG)" >&2; exit 1; }; done
ifneq ($(PURPLE),)
	@test -n "$(PURPLE_PLUGIN_DIR)" || { echo "pkg-config names no libpurple plugin dir: set PURPLE_PLUGIN_DIR" >&2; exit 1; }
endif
	$(INSTALL) -d $(DESTDIR)$(LIBDIR) $(DESTDIR)$(PKGCONFIGDIR) $(DESTDIR)$(INCLUDEDIR)/msim $(DESTDIR)$(BINDIR)
	$(INSTALL) -m 0755 $(DIST)/$(REALNAME) $(DESTDIR)$(LIBDIR)/$(REALNAME)
	ln -sfn $(REALNAME) $(DESTDIR)$(LIBDIR)/$(DIST_SONAME)
	ln -sfn $(REALNAME) $(DESTDIR)$(LIBDIR)/libmsim.so
	$(INSTALL) -m 0644 $(DIST)/libmsim.a $(DESTDIR)$(LIBDIR)/libmsim.a
	scripts/msim-pc.sh --prefix $(PREFIX) --libdir $(LIBDIR) --includedir $(INCLUDEDIR) > $(DESTDIR)$(PKGCONFIGDIR)/msim.pc
	chmod 0644 $(DESTDIR)$(PKGCONFIGDIR)/msim.pc
	$(INSTALL) -m 0644 include/msim.h $(DESTDIR)$(INCLUDEDIR)/msim/msim.h
	$(INSTALL) -m 0755 $(DIST)/msim-server $(DESTDIR)$(BINDIR)/msim-server
ifneq ($(PURPLE),)
	$(INSTALL) -d $(DESTDIR)$(PURPLE_PLUGIN_DIR)
	$(INSTALL) -m 0644 $(DIST)/libmsim-purple.so $(DESTDIR)$(PURPLE_PLUGIN_DIR)/libmsim-purple.so
	$(MAKE) -C examples-c/purple install-icons DESTDIR=$(DESTDIR) PIDGIN_DATADIR=$(PIDGIN_DATADIR)
endif
ifeq ($(SPLIT_DEBUG),1)
	set -e; for f in $(ELF_FILES); do \
		$(INSTALL) -D -m 0644 $(DIST)/$$(basename $$f).debug $(DESTDIR)$$(dirname $$f)/.debug/$$(basename $$f).debug; \
	done
endif
	@# As libtool's install does: a library put straight into the system needs the linker cache.
	@if [ -z "$(DESTDIR)" ] && [ "$$(id -u)" = 0 ] && command -v ldconfig >/dev/null; then ldconfig; fi

# Exactly the files install wrote (the same variables give the same list), then the directories
# that are msim's own if they are left empty; shared directories (lib, include, bin, the plugin
# and icon directories) stay.
uninstall:
	rm -f $(addprefix $(DESTDIR),$(INSTALLED))
	rmdir $(DESTDIR)$(INCLUDEDIR)/msim $(sort $(dir $(addprefix $(DESTDIR),$(DEBUG_FILES)))) 2>/dev/null || true
	@if [ -z "$(DESTDIR)" ] && [ "$$(id -u)" = 0 ] && command -v ldconfig >/dev/null; then ldconfig; fi

# Prints the installed files, one a line, without DESTDIR (tests/install.rs compares it with the tree).
list-installed:
	@printf '%s\n' $(INSTALLED)

clean:
	rm -rf $(DIST)

.PHONY: all build dist install uninstall list-installed clean
