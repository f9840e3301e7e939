/* version.h - the one place the version is written. */
#ifndef PF_VERSION_H
#define PF_VERSION_H
#define BIPEFT_VERSION "0.1.0"
#endif
