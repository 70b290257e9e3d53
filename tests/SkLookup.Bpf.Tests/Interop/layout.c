/*
 * Prints the layout of every kernel UAPI struct member that SkLookup.Bpf mirrors, as the system's
 * <linux/bpf.h> defines it. LayoutTests compiles and runs this, then compares each line with our
 * C# structs. Output lines:
 *   member NAME OFFSET SIZE     a struct or union member
 *   sizeof NAME SIZE            a whole struct, or a named command group of union bpf_attr
 *   header VERSION_CODE         LINUX_VERSION_CODE of the headers
 * Members that a header may be too old to have are guarded by the version that brought them.
 */
#include <stddef.h>
#include <stdio.h>
#include <linux/bpf.h>
#include <linux/version.h>

#define MEMBER(type, name, member) \
	printf("member %s %zu %zu\n", name, offsetof(type, member), sizeof(((type *)0)->member))
#define ATTR(member) MEMBER(union bpf_attr, "bpf_attr." #member, member)
#define PROG_INFO(member) MEMBER(struct bpf_prog_info, "bpf_prog_info." #member, member)
#define MAP_INFO(member) MEMBER(struct bpf_map_info, "bpf_map_info." #member, member)
#define LINK_INFO(member) MEMBER(struct bpf_link_info, "bpf_link_info." #member, member)
#define SK_LOOKUP(member) MEMBER(struct bpf_sk_lookup, "bpf_sk_lookup." #member, member)
#define SIZEOF(name, expression) printf("sizeof %s %zu\n", name, sizeof(expression))

int main(void)
{
	printf("header %d\n", LINUX_VERSION_CODE);

	/* struct bpf_sk_lookup: the sk_lookup program's context. */
	SIZEOF("bpf_sk_lookup", struct bpf_sk_lookup);
	SK_LOOKUP(sk);
	SK_LOOKUP(cookie);
	SK_LOOKUP(family);
	SK_LOOKUP(protocol);
	SK_LOOKUP(remote_ip4);
	SK_LOOKUP(remote_ip6);
	SK_LOOKUP(remote_port);
	SK_LOOKUP(local_ip4);
	SK_LOOKUP(local_ip6);
	SK_LOOKUP(local_port);
	SK_LOOKUP(ingress_ifindex);

	SIZEOF("bpf_attr", union bpf_attr);

	/* BPF_MAP_CREATE */
	ATTR(map_type);
	ATTR(key_size);
	ATTR(value_size);
	ATTR(max_entries);
	ATTR(map_flags);
	ATTR(inner_map_fd);
	ATTR(numa_node);
	ATTR(map_name);
	ATTR(map_ifindex);
	ATTR(btf_fd);
	ATTR(btf_key_type_id);
	ATTR(btf_value_type_id);
	ATTR(btf_vmlinux_value_type_id);
	ATTR(map_extra);

	/* BPF_MAP_*_ELEM and BPF_MAP_GET_NEXT_KEY */
	ATTR(map_fd);
	ATTR(key);
	ATTR(value);
	ATTR(next_key);
	ATTR(flags);

	/* BPF_MAP_*_BATCH */
	SIZEOF("bpf_attr.batch", ((union bpf_attr *)0)->batch);
	ATTR(batch.in_batch);
	ATTR(batch.out_batch);
	ATTR(batch.keys);
	ATTR(batch.values);
	ATTR(batch.count);
	ATTR(batch.map_fd);
	ATTR(batch.elem_flags);
	ATTR(batch.flags);

	/* BPF_PROG_LOAD */
	ATTR(prog_type);
	ATTR(insn_cnt);
	ATTR(insns);
	ATTR(license);
	ATTR(log_level);
	ATTR(log_size);
	ATTR(log_buf);
	ATTR(kern_version);
	ATTR(prog_flags);
	ATTR(prog_name);
	ATTR(prog_ifindex);
	ATTR(expected_attach_type);
	ATTR(prog_btf_fd);
	ATTR(func_info_rec_size);
	ATTR(func_info);
	ATTR(func_info_cnt);
	ATTR(line_info_rec_size);
	ATTR(line_info);
	ATTR(line_info_cnt);
	ATTR(attach_btf_id);
	ATTR(attach_prog_fd);
	ATTR(core_relo_cnt);
	ATTR(fd_array);
	ATTR(core_relos);
	ATTR(core_relo_rec_size);
#if LINUX_VERSION_CODE >= KERNEL_VERSION(6, 4, 0)
	ATTR(log_true_size);
#endif

	/* BPF_OBJ_PIN and BPF_OBJ_GET */
	ATTR(pathname);
	ATTR(bpf_fd);
	ATTR(file_flags);

	/* BPF_PROG_TEST_RUN */
	SIZEOF("bpf_attr.test", ((union bpf_attr *)0)->test);
	ATTR(test.prog_fd);
	ATTR(test.retval);
	ATTR(test.data_size_in);
	ATTR(test.data_size_out);
	ATTR(test.data_in);
	ATTR(test.data_out);
	ATTR(test.repeat);
	ATTR(test.duration);
	ATTR(test.ctx_size_in);
	ATTR(test.ctx_size_out);
	ATTR(test.ctx_in);
	ATTR(test.ctx_out);
	ATTR(test.flags);
	ATTR(test.cpu);
	ATTR(test.batch_size);

	/* BPF_*_GET_NEXT_ID and BPF_*_GET_FD_BY_ID */
	ATTR(start_id);
	ATTR(prog_id);
	ATTR(map_id);
	ATTR(link_id);
	ATTR(next_id);
	ATTR(open_flags);

	/* BPF_OBJ_GET_INFO_BY_FD */
	SIZEOF("bpf_attr.info", ((union bpf_attr *)0)->info);
	ATTR(info.bpf_fd);
	ATTR(info.info_len);
	ATTR(info.info);

	/* BPF_PROG_QUERY */
	SIZEOF("bpf_attr.query", ((union bpf_attr *)0)->query);
	ATTR(query.target_fd);
	ATTR(query.attach_type);
	ATTR(query.query_flags);
	ATTR(query.attach_flags);
	ATTR(query.prog_ids);
	ATTR(query.prog_cnt);
	ATTR(query.prog_attach_flags);

	/* BPF_LINK_CREATE */
	SIZEOF("bpf_attr.link_create", ((union bpf_attr *)0)->link_create);
	ATTR(link_create.prog_fd);
	ATTR(link_create.target_fd);
	ATTR(link_create.attach_type);
	ATTR(link_create.flags);

	/* BPF_LINK_UPDATE */
	SIZEOF("bpf_attr.link_update", ((union bpf_attr *)0)->link_update);
	ATTR(link_update.link_fd);
	ATTR(link_update.new_prog_fd);
	ATTR(link_update.flags);
	ATTR(link_update.old_prog_fd);

	/* BPF_LINK_DETACH, BPF_MAP_FREEZE (map_fd) and BPF_ENABLE_STATS */
	SIZEOF("bpf_attr.link_detach", ((union bpf_attr *)0)->link_detach);
	ATTR(link_detach.link_fd);
	SIZEOF("bpf_attr.enable_stats", ((union bpf_attr *)0)->enable_stats);
	ATTR(enable_stats.type);

	/* struct bpf_prog_info */
	SIZEOF("bpf_prog_info", struct bpf_prog_info);
	PROG_INFO(type);
	PROG_INFO(id);
	PROG_INFO(tag);
	PROG_INFO(jited_prog_len);
	PROG_INFO(xlated_prog_len);
	PROG_INFO(jited_prog_insns);
	PROG_INFO(xlated_prog_insns);
	PROG_INFO(load_time);
	PROG_INFO(created_by_uid);
	PROG_INFO(nr_map_ids);
	PROG_INFO(map_ids);
	PROG_INFO(name);
	PROG_INFO(ifindex);
	PROG_INFO(netns_dev);
	PROG_INFO(netns_ino);
	PROG_INFO(btf_id);
	PROG_INFO(run_time_ns);
	PROG_INFO(run_cnt);
	PROG_INFO(recursion_misses);
	PROG_INFO(verified_insns);

	/* struct bpf_map_info */
	SIZEOF("bpf_map_info", struct bpf_map_info);
	MAP_INFO(type);
	MAP_INFO(id);
	MAP_INFO(key_size);
	MAP_INFO(value_size);
	MAP_INFO(max_entries);
	MAP_INFO(map_flags);
	MAP_INFO(name);
	MAP_INFO(ifindex);
	MAP_INFO(netns_dev);
	MAP_INFO(netns_ino);
	MAP_INFO(btf_id);
	MAP_INFO(map_extra);

	/* struct bpf_link_info, netns member */
	SIZEOF("bpf_link_info", struct bpf_link_info);
	LINK_INFO(type);
	LINK_INFO(id);
	LINK_INFO(prog_id);
	LINK_INFO(netns.netns_ino);
	LINK_INFO(netns.attach_type);
	return 0;
}
